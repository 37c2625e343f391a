import Checks
import Core
import Foundation
import PostgresStore
import SQLiteStore
import Scenarios
import Server

/// Turns the histories of a real run into the checkers' events, in cluster time.
public struct ClusterHistory {
    enum Item {
        case observation(node: Address, WorldObservation)
        case message(MessageEvent.Fact)
    }

    var events: [(time: Int64, item: Item)] = []
    /// Traced message facts among the events.
    public private(set) var messages = 0
    /// Everything the history holds, observations and message facts.
    public var eventCount: Int { events.count }

    public init() {}

    /// A history file's lines. A process killed mid-write can leave a torn last line, which is
    /// skipped; anything else that does not decode is an error.
    static func lines<Line: Decodable>(_ path: String, as _: Line.Type) throws -> [Line] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        let lines = text.split(separator: "\n")
        var decoded: [Line] = []
        for (number, line) in lines.enumerated() {
            guard let value = try? decoder.decode(Line.self, from: Data(line.utf8)) else {
                if number == lines.count - 1 { continue }
                throw ClusterTestError("\(path):\(number + 1): not a history line")
            }
            decoded.append(value)
        }
        return decoded
    }

    /// A role process's history: its roles' observations (`HistoryLine`) and its traced message
    /// traffic (`TrafficLine`), told apart by their fields in one decode per line.
    public mutating func add(file path: String) throws {
        struct Line: Decodable {
            var time: Int64
            var node: String?
            var observation: CoreObservation?
            var traffic: TrafficLine.Fact?
        }
        for line in try Self.lines(path, as: Line.self) {
            if let node = line.node, let observation = line.observation {
                events.append((line.time, .observation(node: Address(node), .core(observation))))
            } else if let traffic = line.traffic {
                messages += 1
                events.append((line.time, .message(Self.fact(traffic))))
            } else {
                throw ClusterTestError("\(path): a history line with neither an observation nor traffic")
            }
        }
    }

    static func fact(_ traffic: TrafficLine.Fact) -> MessageEvent.Fact {
        switch traffic {
        case .sent(let id, let from, let to, let message): .sent(id: id, from: from, to: to, message)
        case .delivered(let id, let to): .delivered(id: id, to: to)
        case .dropped(let id): .dropped(id: id)
        case .started(let node, let incarnation): .started(node: node, incarnation: incarnation)
        }
    }

    /// The fake LLM's call log, as the simulator's LLM call records.
    public mutating func add(calls path: String) throws {
        events += try Self.lines(path, as: LLMCallLine.self).map { call in
            let record = LLMCallRecord(task: call.task, node: call.node, prompt: call.prompt, answer: call.answer, status: call.status, fault: nil)
            return (call.time, .observation(node: .fakeLLM, .llm(record)))
        }
    }

    /// One thing a client saw, at `time` (the history's clock, `HistoryLine.now()`).
    public mutating func add(client: Address, _ observation: ClientObservation, at time: Int64) {
        events.append((time, .observation(node: client, .client(observation))))
    }

    /// The clients' history file.
    mutating func add(clients path: String) throws {
        events += try Self.lines(path, as: ClientRecorder.Entry.self).map { ($0.time, .observation(node: $0.node, .client($0.observation))) }
    }

    /// Feeds the checkers in time order; times become cluster nanoseconds since `start`.
    public func check(_ suite: inout CheckerSuite, start: Int64, speedup: Int64) {
        let ordered = events.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
        for (index, entry) in ordered.enumerated() {
            let time = Instant(nanoseconds: max(0, entry.element.time - start) * speedup)
            switch entry.element.item {
            case .observation(let node, let observation):
                suite.observe(ObservedEvent(index: UInt64(index), time: time, node: node, observation: observation))
            case .message(let fact):
                suite.observeMessage(MessageEvent(index: UInt64(index), time: time, fact: fact))
            }
        }
    }
}

/// What a cluster test's history alone does not say: who the clients were and when the run
/// started, healed and ended (wall-clock nanoseconds), and its speedup. Written beside the
/// histories, so the folder can be judged again later (`agentos check FOLDER`).
public struct ClusterRunFacts: Codable, Sendable {
    public var clients: [Address]
    public var start: Int64
    public var healAt: Int64
    public var end: Int64
    public var speedup: Int64
    /// Whether the store ran on PostgreSQL (its URL is not kept: it may hold a password).
    public var postgres: Bool

    public static let fileName = "run.json"

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}

/// The checkers' verdict on a cluster test's folder.
public struct ClusterVerdict: Sendable {
    public var checks: [CheckVerdict]
    public var violations: [Violation]
    public var tasks: [TaskRecord]
    public var historyEvents: Int
    public var messageEvents: Int
}

extension ClusterHistory {
    /// Judges the run recorded in `folder`: the roles', the fake LLM's and the clients'
    /// histories, in time order, then the store's final rows (its SQLite file there, or the
    /// PostgreSQL database at `storeURL`).
    public static func judge(folder: String, storeURL: String? = nil) throws -> ClusterVerdict {
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        guard FileManager.default.fileExists(atPath: path(ClusterRunFacts.fileName)) else {
            throw ClusterTestError("\(folder): no \(ClusterRunFacts.fileName); not the folder of a cluster test (keep one with cluster-test --keep DIR)")
        }
        let facts: ClusterRunFacts
        do {
            facts = try JSONDecoder().decode(ClusterRunFacts.self, from: Data(contentsOf: URL(fileURLWithPath: path(ClusterRunFacts.fileName))))
        } catch {
            throw ClusterTestError("\(path(ClusterRunFacts.fileName)): \(error)")
        }
        if facts.postgres, storeURL == nil {
            throw ClusterTestError("\(folder): this run's store was on PostgreSQL; name its database (--store postgres://...)")
        }
        var history = ClusterHistory()
        for file in ClusterUnderTest.historyFileNames { try history.add(file: path(file)) }
        try history.add(calls: path(ClusterUnderTest.callsFileName))
        try history.add(clients: path(ClusterUnderTest.clientsFileName))
        let context = CheckContext(clients: facts.clients, healAt: Instant(nanoseconds: (facts.healAt - facts.start) * facts.speedup))
        var suite = CheckerSuite(context: context)
        history.check(&suite, start: facts.start, speedup: facts.speedup)
        let store: any TaskStoreBackend
        if let storeURL {
            store = try PostgresTaskStore(url: storeURL)
        } else {
            let file = path(ClusterUnderTest.storeFileName)
            guard FileManager.default.fileExists(atPath: file) else { throw ClusterTestError("\(folder): no store at \(file)") }
            store = try TaskStore(path: file)
        }
        suite.audit(try StoreSnapshot(store: store), end: Instant(nanoseconds: (facts.end - facts.start) * facts.speedup), includeLiveness: true)
        return ClusterVerdict(
            checks: suite.verdicts, violations: suite.violations, tasks: try store.allTasks(), historyEvents: history.events.count,
            messageEvents: history.messages)
    }
}

/// A cluster test that could not run or be judged, in one line.
public struct ClusterTestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
