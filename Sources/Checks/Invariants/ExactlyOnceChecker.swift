import Core

/// 10. Every client request (its client and request id) maps to exactly one task, across
/// client retries, network duplicates, gateway restarts and store outages, and no task exists
/// that no acknowledged request asked for.
public struct ExactlyOnceChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.exactlyOnce
    public private(set) var violations: [Violation] = []
    var taskOfRequest: [String: (TaskID, ObservedEvent)] = [:]
    var requestOfTask: [TaskID: (String, ObservedEvent)] = [:]

    public init() {}

    public mutating func observe(_ event: ObservedEvent) {
        let request: String
        let task: TaskID
        switch event.observation {
        case .client(.acknowledged(let id, let acknowledged)), .client(.conflictingAck(let id, let acknowledged)):
            request = "request \(id) of \(event.node)"
            task = acknowledged
        default:
            return
        }
        if let (other, where_) = taskOfRequest[request], other != task {
            violations.append(Violation(
                invariant: invariant, task: task, node: nil, time: event.time,
                detail: "\(request) was acknowledged as task \(other) and again as task \(task)", events: [where_.summary, event.summary]))
        } else if taskOfRequest[request] == nil {
            taskOfRequest[request] = (task, event)
        }
        if let (other, where_) = requestOfTask[task], other != request {
            violations.append(Violation(
                invariant: invariant, task: task, node: nil, time: event.time,
                detail: "task \(task) was acknowledged to \(other) and to \(request)", events: [where_.summary, event.summary]))
        } else if requestOfTask[task] == nil {
            requestOfTask[task] = (request, event)
        }
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: Instant) {
        for task in snapshot.tasks where requestOfTask[task.taskID] == nil {
            violations.append(Violation(
                invariant: invariant, task: task.taskID, node: nil, time: end,
                detail: "task \(task.taskID) exists in the store, but no client request was acknowledged with it (a duplicate or ghost task)", events: []))
        }
    }

    public var evidence: String { "\(taskOfRequest.count) request(s), \(requestOfTask.count) task(s) acknowledged" }
}

extension ExactlyOnceChecker: RegisteredChecker {
    public static let name = "exactly-once tasks"
    public static let needsLiveness = true

    public init(context: CheckContext) { self.init() }
}
