import Foundation
import Core
import Sim

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

    public mutating func audit(_ snapshot: StoreSnapshot, end: SimInstant) {
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

/// 6. A client's statuses only move forward; a completed result never changes and equals what
/// the stored progress yields; an acknowledged task id is never reported unknown.
public struct ClientViewChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.clientView
    public private(set) var violations: [Violation] = []
    var acknowledged: Set<TaskID> = []
    var last: [String: [TaskID: (TaskStatusView, ObservedEvent)]] = [:]
    var completed: [TaskID: (String, ObservedEvent)] = [:]
    /// Tasks already reported unknown once: a client polling a lost task would otherwise
    /// repeat the same violation every few seconds.
    var reportedUnknown: Set<TaskID> = []

    public init() {}

    static func rank(_ status: TaskStatusView) -> Int {
        switch status {
        case .nonExist: -1
        case .pending: 0
        case .running: 1
        case .completed, .aborted: 2
        }
    }

    public mutating func observe(_ event: ObservedEvent) {
        switch event.observation {
        case .client(.acknowledged(_, let task)), .core(.taskAcknowledged(let task)):
            acknowledged.insert(task)
        case .client(.status(let task, let status)):
            if status == .nonExist, acknowledged.contains(task), reportedUnknown.insert(task).inserted {
                violations.append(Violation(
                    invariant: invariant, task: task, node: nil, time: event.time,
                    detail: "an acknowledged task was reported as unknown (non_exist)", events: [event.summary]))
            }
            if let (previous, where_) = last[event.node]?[task] {
                if Self.rank(status) < Self.rank(previous) {
                    violations.append(Violation(
                        invariant: invariant, task: task, node: nil, time: event.time,
                        detail: "status went back from \(previous.name) to \(status.name)", events: [where_.summary, event.summary]))
                } else if Self.rank(previous) == 2, status != previous {
                    violations.append(Violation(
                        invariant: invariant, task: task, node: nil, time: event.time,
                        detail: "a final status changed from \(previous) to \(status)", events: [where_.summary, event.summary]))
                }
            }
            last[event.node, default: [:]][task] = (status, event)
            if case .completed(let result) = status, completed[task] == nil { completed[task] = (result, event) }
        default:
            break
        }
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: SimInstant) {
        for task in snapshot.tasks where task.status == .completed {
            guard let plan = snapshot.plans[task.taskID] else { continue }
            let rows = snapshot.progress[task.taskID] ?? []
            let yielded = TaskResult.combine(graph: plan.graph, results: Dictionary(rows.map { ($0.nodeID, $0.result) }, uniquingKeysWith: { a, _ in a }))
            if task.result != yielded {
                violations.append(Violation(
                    invariant: invariant, task: task.taskID, node: nil, time: end,
                    detail: "the completed result is not what the stored progress yields", events: []))
            }
            if let (seen, where_) = completed[task.taskID], seen != task.result {
                violations.append(Violation(
                    invariant: invariant, task: task.taskID, node: nil, time: end,
                    detail: "a client saw a completed result that differs from the stored one", events: [where_.summary]))
            }
        }
    }

    public var evidence: String { "\(last.values.map(\.count).reduce(0, +)) task view(s) of \(last.count) client(s)" }
}

/// 7. After the faults heal, every acknowledged task completes, or is aborted with a stated
/// reason, within the liveness budget.
public struct LivenessChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.liveness
    public private(set) var violations: [Violation] = []
    var acknowledged: [TaskID: ObservedEvent] = [:]

    public init() {}

    public mutating func observe(_ event: ObservedEvent) {
        if case .core(.taskAcknowledged(let task)) = event.observation, acknowledged[task] == nil {
            acknowledged[task] = event
        }
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: SimInstant) {
        let byID = Dictionary(uniqueKeysWithValues: snapshot.tasks.map { ($0.taskID, $0) })
        for (task, where_) in acknowledged.sorted(by: { $0.key < $1.key }) {
            guard let record = byID[task] else {
                violations.append(Violation(
                    invariant: invariant, task: task, node: nil, time: end, detail: "an acknowledged task is missing from the database",
                    events: [where_.summary]))
                continue
            }
            switch record.status {
            case .completed: break
            case .aborted where !(record.reason ?? "").isEmpty: break
            case .aborted:
                violations.append(Violation(invariant: invariant, task: task, node: nil, time: end, detail: "aborted without a reason", events: [where_.summary]))
            case .pending, .running:
                violations.append(Violation(
                    invariant: invariant, task: task, node: nil, time: end,
                    detail: "still \(record.status.rawValue) at the end of the liveness phase (epoch \(record.epoch), owner '\(record.ownerRegion)/\(record.ownerProxy)')",
                    events: [where_.summary]))
            }
        }
    }

    public var evidence: String { "\(acknowledged.count) acknowledged task(s)" }
}

