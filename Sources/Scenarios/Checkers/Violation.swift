import Core
import Sim

/// The seven invariants of design section 6; eight more that judge what users see: whether
/// an abort was justified, what clients learned, one task per request, what prompts carried,
/// whether every LLM call was answered, how long tasks took, whether refusals were justified
/// and the admission limit held; and one that holds regions to each proxy's newest life.
public enum Invariant: Int, Codable, CaseIterable, Sendable, CustomStringConvertible {
    case epochMonotonicity = 1
    case fencing
    case uniqueOwnership
    case progressImmutability
    case progressCorrectness
    case clientView
    case liveness
    case justifiedAborts
    case clientOutcome
    case exactlyOnce
    case promptCorrectness
    case callAccounting
    case latency
    case justifiedRejections
    case admissionBound
    case newestLifeClaims

    public var name: String {
        switch self {
        case .epochMonotonicity: "epoch monotonicity"
        case .fencing: "fencing"
        case .uniqueOwnership: "unique ownership"
        case .progressImmutability: "progress immutability"
        case .progressCorrectness: "progress correctness"
        case .clientView: "client view"
        case .liveness: "liveness"
        case .justifiedAborts: "justified aborts"
        case .clientOutcome: "client outcome"
        case .exactlyOnce: "exactly-once tasks"
        case .promptCorrectness: "prompt correctness"
        case .callAccounting: "call accounting"
        case .latency: "latency"
        case .justifiedRejections: "justified rejections"
        case .admissionBound: "admission bound"
        case .newestLifeClaims: "newest-life claims"
        }
    }

    /// Checked only when the run had a liveness phase: they judge how the run ended.
    public var needsLiveness: Bool {
        switch self {
        case .liveness, .clientOutcome, .latency, .justifiedAborts, .exactlyOnce: true
        default: false
        }
    }

    public var description: String { "invariant \(rawValue) (\(name))" }
}

/// One broken invariant: what, where, when, and the events that show it.
public struct Violation: Codable, Hashable, Sendable, CustomStringConvertible {
    public var invariant: Invariant
    public var task: TaskID?
    public var node: String?
    public var time: SimInstant
    public var detail: String
    /// The trace events involved, as `#index t=... node: observation`.
    public var events: [String]

    /// The kind of evidence, for telling one failure from another of the same invariant: the
    /// detail without its numbers, quoted names and parenthesised particulars ("still running
    /// at the end of the liveness phase", "task # was acknowledged as task # and again as task #").
    public var evidenceClass: String {
        var text = ""
        var inQuote = false
        var lastWasDigit = false
        for character in detail {
            if character == "(" { break }
            if character == "'" {
                inQuote.toggle()
                if !inQuote { text += "'…'" }
                continue
            }
            if inQuote { continue }
            if character.isNumber {
                if !lastWasDigit { text += "#" }
                lastWasDigit = true
                continue
            }
            if lastWasDigit, character == "." || character == "s" { continue }
            lastWasDigit = false
            text.append(character)
        }
        while text.last == " " { text.removeLast() }
        return "\(invariant.rawValue): " + text
    }

    public var description: String {
        var text = "\(invariant) violated"
        if let task { text += " on task \(task)" }
        if let node { text += " node '\(node)'" }
        text += " at t=\(time): \(detail)"
        for event in events { text += "\n    \(event)" }
        return text
    }
}

/// One observation as the checkers see it, with its place in the trace.
public struct ObservedEvent: Sendable {
    public var index: UInt64
    public var time: SimInstant
    public var node: String
    public var observation: WorldObservation

    public init(index: UInt64, time: SimInstant, node: String, observation: WorldObservation) {
        self.index = index
        self.time = time
        self.node = node
        self.observation = observation
    }

    public var summary: String { "#\(index) t=\(time) \(node): \(observation)" }
}

/// What the final audit reads: the store's rows at the end of the run.
public struct StoreSnapshot: Sendable {
    public private(set) var tasks: [TaskRecord]
    public var progress: [TaskID: [ProgressRecord]]
    /// Each task's plan, decoded once for all the checkers (nil: it does not parse).
    public private(set) var plans: [TaskID: TaskPlan] = [:]

    public init(tasks: [TaskRecord], progress: [TaskID: [ProgressRecord]]) {
        self.tasks = tasks
        self.progress = progress
        for task in tasks { plans[task.taskID] = task.plan }
    }

    public init(store: any TaskStoreBackend) throws {
        let tasks = try store.allTasks()
        let rows = try store.allProgress()
        // An entry for every task (empty when it saved nothing), and only for tasks.
        let progress = Dictionary(uniqueKeysWithValues: tasks.map { ($0.taskID, rows[$0.taskID] ?? []) })
        self.init(tasks: tasks, progress: progress)
    }
}

/// A checker of one invariant: fed every observation in trace order (and, if it wants them,
/// the message traffic), then the final audit.
public protocol InvariantChecker {
    var invariant: Invariant { get }
    mutating func observe(_ event: ObservedEvent)
    /// Message traffic: the sends of the message kinds `MessageEvent` carries, the deliveries,
    /// drops and duplicates of those messages, and every start.
    mutating func observeMessage(_ event: MessageEvent)
    /// Whether the checker wants `observeMessage` calls (true unless it says otherwise). A run
    /// delivers tens of thousands of messages; the suite passes them only to checkers that
    /// want them, and the run observer builds no message events when none does.
    var observesMessages: Bool { get }
    /// `end`: the virtual time the run ended.
    mutating func audit(_ snapshot: StoreSnapshot, end: SimInstant)
    var violations: [Violation] { get }
    /// What the checker examined, in a few words, for reports ("8 tasks, 3 aborts").
    var evidence: String { get }
}

extension InvariantChecker {
    public mutating func observeMessage(_ event: MessageEvent) {}
    public var observesMessages: Bool { true }
    public mutating func audit(_ snapshot: StoreSnapshot, end: SimInstant) {}
    public var evidence: String { "" }
}
