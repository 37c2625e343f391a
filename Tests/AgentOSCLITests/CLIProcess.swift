import Foundation

/// Runs the built `agentos` binary as a child process: the cross-process tests must not share
/// any in-process state with the runs they compare.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum CLI {
    /// The binary sits next to the test bundle in the build folder (the test target depends on
    /// the executable, so `swift test` builds it).
    static var binary: URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        // On Linux the test runner is `<build>/<Package>PackageTests.xctest`; on macOS it is inside a bundle.
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("agentos").path), folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("agentos")
    }

    static func run(_ arguments: [String]) throws -> CLIResult {
        try run(executable: binary, arguments)
    }

    /// Runs any program to its end and collects what it printed.
    static func run(executable: URL, _ arguments: [String], directory: String? = nil) throws -> CLIResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a full pipe cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIResult(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("agentos-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-\(name)").path
    }
}

extension CLIResult {
    /// The value of a `key: value` line of the output.
    func field(_ key: String) -> String? {
        stdout.split(separator: "\n").first { $0.hasPrefix("\(key): ") }.map { String($0.dropFirst(key.count + 2)) }
    }
}

/// A long-running child `agentos` process that prints a line when it is ready.
final class ChildServer {
    let process = Process()
    /// What the child printed up to and including its ready line.
    let banner: String

    /// With `stderrPath`, the child's errors and log stay in that file for the test to read.
    init(_ arguments: [String], readyMarker: String, timeout: TimeInterval = 30, stderrPath: String? = nil, environment: [String: String] = [:]) throws {
        process.executableURL = CLI.binary
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe()
        process.standardOutput = out
        // Errors go to a file, read only if the child fails to start (a pipe nobody drains could block it).
        let errors = stderrPath ?? CLI.temporaryPath("child-stderr")
        _ = FileManager.default.createFile(atPath: errors, contents: nil)
        defer { if stderrPath == nil { try? FileManager.default.removeItem(atPath: errors) } }
        process.standardError = FileHandle(forWritingAtPath: errors) ?? FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        while !text.contains(readyMarker), Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        banner = text
        guard text.contains(readyMarker) else {
            process.terminate()
            process.waitUntilExit()
            let stderr = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            throw CLIError("\(arguments.first ?? "agentos") did not start: \(text)\(stderr.suffix(2000))")
        }
    }

    /// A real SIGKILL: no shutdown code runs.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
