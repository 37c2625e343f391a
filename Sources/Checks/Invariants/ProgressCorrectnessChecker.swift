import Core
import Foundation

/// 5. A node runs only after all its parents have applied results, on exactly those results;
/// a node with an applied result never runs again; its saved result carries the digest of the
/// inputs it started from, which the final audit recomputes from the stored parents.
public struct ProgressCorrectnessChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.progressCorrectness
    public private(set) var violations: [Violation] = []
    /// Applied results by task and node: (result digest, input digest, event).
    var applied: [TaskID: [String: (String, String, ObservedEvent)]] = [:]
    /// Input digests nodes started from, by task, node and epoch.
    var started: [TaskID: [String: [Epoch: (String, ObservedEvent)]]] = [:]
    /// Whether parents must be saved before a child starts (every checkpoint policy but
    /// `none`; see `CheckContext.parentsSavedBeforeUse`). Without it, a node's start is judged
    /// only by the final audit: every saved result's inputs must be the saved parents.
    let parentsSavedBeforeUse: Bool

    public init(parentsSavedBeforeUse: Bool = true) { self.parentsSavedBeforeUse = parentsSavedBeforeUse }

    public mutating func observe(_ event: ObservedEvent) {
        switch event.observation {
        case .core(.nodeStarted(let task, let node, let epoch, let inputDigest, let parents)):
            // A later owner must resume from the saved result: its claim came after the save,
            // and it read the progress after its claim. The same owner may legitimately start a
            // node again at its own epoch, when its read of the progress raced its own delayed
            // save; the store then answers its second save with a conflict, and it adopts the
            // stored result.
            if let (_, _, where_) = applied[task]?[node], let saved = Self.epoch(of: where_), epoch > saved {
                violations.append(Violation(
                    invariant: invariant, task: task, node: node, time: event.time,
                    detail: "the node ran again at \(epoch) although its result was already saved at \(saved)", events: [where_.summary, event.summary]))
            }
            for parent in parents where parentsSavedBeforeUse {
                guard let (digest, _, where_) = applied[task]?[parent.node] else {
                    violations.append(Violation(
                        invariant: invariant, task: task, node: node, time: event.time,
                        detail: "started before its parent '\(parent.node)' had a saved result", events: [event.summary]))
                    continue
                }
                if digest != parent.resultDigest {
                    violations.append(Violation(
                        invariant: invariant, task: task, node: node, time: event.time,
                        detail: "started from parent '\(parent.node)' result \(parent.resultDigest), but the saved result is \(digest)",
                        events: [where_.summary, event.summary]))
                }
            }
            started[task, default: [:]][node, default: [:]][epoch] = (inputDigest, event)
        case .core(.write(let task, .progress(let node, let resultDigest, let inputDigest), let epoch, _, .applied(_, let repeated))):
            if !repeated, let (startedFrom, where_) = started[task]?[node]?[epoch], startedFrom != inputDigest {
                violations.append(Violation(
                    invariant: invariant, task: task, node: node, time: event.time,
                    detail: "saved with input digest \(inputDigest) but started from \(startedFrom)", events: [where_.summary, event.summary]))
            }
            if applied[task]?[node] == nil { applied[task, default: [:]][node] = (resultDigest, inputDigest, event) }
        default:
            break
        }
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: Instant) {
        for task in snapshot.tasks {
            guard let plan = snapshot.plans[task.taskID] else { continue }
            let rows = snapshot.progress[task.taskID] ?? []
            let results = Dictionary(rows.map { ($0.nodeID, $0.result) }, uniquingKeysWith: { first, _ in first })
            for row in rows {
                // A round checkpoint (`node@round`) belongs to its node, for a round before the last.
                let checkpoint = RoundCheckpoint.parse(row.nodeID)
                if let checkpoint, checkpoint.round >= plan.query.nRounds {
                    violations.append(Violation(
                        invariant: invariant, task: task.taskID, node: row.nodeID, time: end,
                        detail: "a round checkpoint for round \(checkpoint.round) of a task of \(plan.query.nRounds) round(s)", events: []))
                    continue
                }
                guard let node = plan.graph.node(checkpoint?.node ?? row.nodeID) else {
                    violations.append(Violation(
                        invariant: invariant, task: task.taskID, node: row.nodeID, time: end,
                        detail: "a saved result for a node the task's graph does not have", events: []))
                    continue
                }
                let expected = InputDigest.of(taskDescription: plan.query.taskDescription, node: node, parentResults: results)
                if expected != row.inputDigest {
                    violations.append(Violation(
                        invariant: invariant, task: task.taskID, node: row.nodeID, time: end,
                        detail: "saved input digest \(row.inputDigest), but the stored parents give \(expected)", events: []))
                }
            }
        }
    }

    public var evidence: String { "\(started.values.map(\.count).reduce(0, +)) node(s) started, \(applied.values.map(\.count).reduce(0, +)) saved" }

    static func epoch(of event: ObservedEvent) -> Epoch? {
        if case .core(.write(_, _, let epoch, _, _)) = event.observation { return epoch }
        return nil
    }
}

extension ProgressCorrectnessChecker: RegisteredChecker {
    public static let name = "progress correctness"
    public static let needsLiveness = false

    public init(context: CheckContext) { self.init(parentsSavedBeforeUse: context.parentsSavedBeforeUse) }
}
