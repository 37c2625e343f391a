import Core
import Foundation

/// One fact a real role recorded: the same `CoreObservation` a simulated role records, with
/// the wall-clock time and the role's name. `agentos cluster-test` merges the history files of
/// every process and feeds them to the simulator's checkers.
public struct HistoryLine: Codable, Sendable {
    /// Unix time in nanoseconds.
    public var time: Int64
    public var node: String
    public var incarnation: UInt32
    public var observation: CoreObservation

    public init(time: Int64, node: String, incarnation: UInt32, observation: CoreObservation) {
        self.time = time
        self.node = node
        self.incarnation = incarnation
        self.observation = observation
    }

    public static func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}

/// Appends history lines to a file, one `write` per line (O_APPEND), so a SIGKILLed process
/// loses nothing it recorded and processes may share a file.
public final class HistoryWriter: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private let encoder = JSONEncoder()

    public init(path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ServeError("cannot open the history file '\(path)': \(String(cString: strerror(errno)))") }
        encoder.outputFormatting = [.sortedKeys]
    }

    public func record(node: String, incarnation: UInt32, _ observation: CoreObservation) {
        let line = HistoryLine(time: HistoryLine.now(), node: node, incarnation: incarnation, observation: observation)
        guard var data = try? encoder.encode(line) else { return }
        data.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    deinit { close(fd) }
}
