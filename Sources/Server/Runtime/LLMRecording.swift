import FakeLLM
import Foundation

/// Cassettes on disk: every `llm-calls*.jsonl` file under a directory, one `CassetteEntry` per
/// line. `serve --record DIR` writes them (rotated: `llm-calls.jsonl`, then `.1`, `.2`, ...
/// older); `run --cassette DIR` and `fake-llm --cassette DIR` read them; record mode adds to them.
public enum CassetteFiles {
    public static let baseName = "llm-calls"

    /// Every entry under `directory`, each file's oldest rotation first, files in path order.
    public static func load(_ directory: String) throws -> [CassetteEntry] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ServeError(
                "no cassette at '\(directory)': not a directory (record one with `serve --record DIR` or `run --cassette DIR --cassette-mode record`)")
        }
        let decoder = JSONDecoder()
        var entries: [CassetteEntry] = []
        for path in try files(in: directory) {
            guard let data = FileManager.default.contents(atPath: path) else { throw ServeError("cannot read the cassette file '\(path)'") }
            let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
            for (index, line) in lines.enumerated() where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) {
                do {
                    var entry = try decoder.decode(CassetteEntry.self, from: Data(line))
                    entry.key = entry.request.key  // the key is derived; a hand-edited request keeps matching
                    entries.append(entry)
                } catch {
                    // A process killed mid-line leaves a torn last line: skipped, the rest kept.
                    if index == lines.count - 1 { continue }
                    throw ServeError("\(path):\(index + 1): not a cassette entry (\(shortDecodingError(error)))")
                }
            }
        }
        return entries
    }

    /// The cassette files under `directory`, recursively: each recording's rotations oldest
    /// first (`.3`, `.2`, `.1`, then the current file), recordings in path order.
    static func files(in directory: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        var byRecording: [String: [(rotation: Int, path: String)]] = [:]
        for case let relative as String in walker {
            let name = (relative as NSString).lastPathComponent
            guard name.hasPrefix(baseName), name.hasSuffix(".jsonl") else { continue }
            let middle = name.dropFirst(baseName.count).dropLast(".jsonl".count)
            let rotation: Int
            if middle.isEmpty {
                rotation = 0
            } else if middle.first == ".", let number = Int(middle.dropFirst()) {
                rotation = number
            } else {
                continue
            }
            let folder = (relative as NSString).deletingLastPathComponent
            byRecording[folder, default: []].append((rotation, (directory as NSString).appendingPathComponent(relative)))
        }
        return byRecording.keys.sorted().flatMap { folder in byRecording[folder]!.sorted { $0.rotation > $1.rotation }.map(\.path) }
    }

    /// Adds `entries` to the cassette's newest file (record mode).
    public static func append(_ entries: [CassetteEntry], to directory: String) throws {
        guard !entries.isEmpty else { return }
        let recorder = try LLMRecorder(directory: directory)
        for entry in entries { recorder.append(entry) }
    }

    /// A decoding error in a few words (which field, what is wrong).
    public static func shortDecodingError(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "no field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        case DecodingError.dataCorrupted(let context): context.debugDescription
        default: "\(error)"
        }
    }
}

/// Appends cassette entries to `DIR/llm-calls.jsonl`, one `write` per line (O_APPEND, so a
/// SIGKILL loses at most the line being written), and rotates the file when it passes
/// `bytesMax / filesKept`: at most `filesKept` files, the oldest dropped. What it writes is the
/// canonical request and the answer only: no header, no key, no role secret ever reaches it.
public final class LLMRecorder: @unchecked Sendable {
    public let directory: String
    public let bytesMax: Int
    public let filesKept: Int
    private let lock = NSLock()
    private let encoder = JSONEncoder()
    private var fd: Int32 = -1
    private var bytes = 0
    public private(set) var written = 0
    public private(set) var rotations = 0

    public static let bytesMaxDefault = 64 << 20

    public init(directory: String, bytesMax: Int = LLMRecorder.bytesMaxDefault, filesKept: Int = 4) throws {
        precondition(bytesMax > 0 && filesKept >= 1, "recording bounds must be positive: \(bytesMax) bytes, \(filesKept) files")
        self.directory = directory
        self.bytesMax = bytesMax
        self.filesKept = filesKept
        encoder.outputFormatting = [.sortedKeys]
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ServeError("cannot make the recording directory '\(directory)': \(error.localizedDescription)")
        }
        try openCurrent()
    }

    private var currentPath: String { (directory as NSString).appendingPathComponent(CassetteFiles.baseName + ".jsonl") }
    private func rotatedPath(_ number: Int) -> String { (directory as NSString).appendingPathComponent("\(CassetteFiles.baseName).\(number).jsonl") }

    private func openCurrent() throws {
        fd = open(currentPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ServeError("cannot open the recording '\(currentPath)': \(String(cString: strerror(errno)))") }
        var status = stat()
        bytes = fstat(fd, &status) == 0 ? Int(status.st_size) : 0
    }

    public func append(_ entry: CassetteEntry) {
        guard var data = try? encoder.encode(entry) else { return }
        data.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        if bytes > 0, bytes + data.count > bytesMax / filesKept { rotate() }
        guard fd >= 0 else { return }
        let wrote = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if wrote > 0 {
            bytes += wrote
            written += 1
        }
    }

    /// `llm-calls.jsonl` becomes `.1`, `.1` becomes `.2`, ...; the oldest beyond `filesKept` goes.
    private func rotate() {
        close(fd)
        fd = -1
        if filesKept == 1 {
            unlink(currentPath)
        } else {
            unlink(rotatedPath(filesKept - 1))
            for number in stride(from: filesKept - 2, through: 1, by: -1) { rename(rotatedPath(number), rotatedPath(number + 1)) }
            rename(currentPath, rotatedPath(1))
        }
        rotations += 1
        try? openCurrent()
    }

    deinit { if fd >= 0 { close(fd) } }
}
