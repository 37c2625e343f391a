import Core
import FakeLLM
import Foundation

/// One fact a real role recorded: the same `CoreObservation` a simulated role records, with
/// the wall-clock time and the role's name. `agentos cluster-test` merges the history files of
/// every process and feeds them to the simulator's checkers.
public struct HistoryLine: Codable, Sendable {
    /// Unix time in nanoseconds.
    public var time: Int64
    public var node: Address
    public var incarnation: UInt32
    public var observation: CoreObservation

    public init(time: Int64, node: Address, incarnation: UInt32, observation: CoreObservation) {
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

    public func record(node: Address, incarnation: UInt32, _ observation: CoreObservation) {
        append(HistoryLine(time: HistoryLine.now(), node: node, incarnation: incarnation, observation: observation))
    }

    public func append<Line: Encodable>(_ line: Line) {
        guard var data = try? encoder.encode(line) else { return }
        data.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    deinit { close(fd) }
}

/// One call as the cluster's fake LLM received and answered it, labelled with the task and graph
/// node the real shell sent as metadata: the real run's counterpart of the simulator's LLM call
/// records, so `cluster-test` can judge what prompts actually carried.
public struct LLMCallLine: Codable, Sendable {
    public var time: Int64
    public var task: TaskID
    public var node: String
    public var prompt: String
    /// The answer text, nil for an error or no answer.
    public var answer: String?
    public var status: Int

    public init(time: Int64, task: TaskID, node: String, prompt: String, answer: String?, status: Int) {
        self.time = time
        self.task = task
        self.node = node
        self.prompt = prompt
        self.answer = answer
        self.status = status
    }

    static let taskKey = Cassette.taskLabel
    static let nodeKey = Cassette.nodeLabel

    static func labels(task: TaskID, node: String) -> [String: String] { [taskKey: String(task), nodeKey: node] }

    /// The call's labels, if the request carried them.
    static func labels(of chat: ChatRequest) -> (TaskID, String)? {
        guard let metadata = chat.metadata, let task = metadata[taskKey].flatMap(TaskID.init), let node = metadata[nodeKey] else { return nil }
        return (task, node)
    }
}
