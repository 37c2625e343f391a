import Core
import Foundation

/// 6. A client's statuses only move forward; a completed result never changes and equals what
/// the stored progress yields; an acknowledged task id is never reported unknown.
public struct ClientViewChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.clientView
    public private(set) var violations: [Violation] = []
    var acknowledged: Set<TaskID> = []
    var last: [Address: [TaskID: (TaskStatusView, ObservedEvent)]] = [:]
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

    public mutating func audit(_ snapshot: StoreSnapshot, end: Instant) {
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

extension ClientViewChecker: RegisteredChecker {
    public static let name = "client view"
    public static let needsLiveness = false

    public init(context: CheckContext) { self.init() }
}
