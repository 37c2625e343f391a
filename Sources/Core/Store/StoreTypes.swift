/// Where a task stands. Statuses only move forward: pending -> running -> completed | aborted.
public enum TaskStatus: String, Codable, Hashable, Sendable, Comparable {
    /// Stored, no proxy has claimed it yet.
    case pending
    /// A proxy has claimed it at least once.
    case running
    case completed
    case aborted

    public var isFinished: Bool { self == .completed || self == .aborted }

    var rank: Int {
        switch self {
        case .pending: 0
        case .running: 1
        case .completed, .aborted: 2
        }
    }

    public static func < (lhs: TaskStatus, rhs: TaskStatus) -> Bool { lhs.rank < rhs.rank }
}

/// A task row: the seed's Tasks columns plus owner, status, result, and the idempotency key.
public struct TaskRecord: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var userID: Int64
    public var taskType: String
    public var epoch: Epoch
    public var taskDescription: String
    public var ownerRegion: String
    /// The seed's owner column: `proxy#incarnation`, or empty before any proxy owns the task.
    public var ownerProxy: String
    public var status: TaskStatus
    public var result: String?
    public var reason: String?
    public var requestDocumentID: Int64?
    public var responseDocumentID: Int64?
    /// The validated plan (query and graph) as canonical JSON.
    public var planJSON: String?

    public init(
        taskID: TaskID, userID: Int64, taskType: String, epoch: Epoch, taskDescription: String, ownerRegion: String, ownerProxy: String,
        status: TaskStatus, result: String?, reason: String?, requestDocumentID: Int64?, responseDocumentID: Int64?, planJSON: String? = nil
    ) {
        self.taskID = taskID
        self.userID = userID
        self.taskType = taskType
        self.epoch = epoch
        self.taskDescription = taskDescription
        self.ownerRegion = ownerRegion
        self.ownerProxy = ownerProxy
        self.status = status
        self.result = result
        self.reason = reason
        self.requestDocumentID = requestDocumentID
        self.responseDocumentID = responseDocumentID
        self.planJSON = planJSON
    }

    /// The task's plan: the one place it is decoded. Rows from before the plan had a column of
    /// its own kept it in `taskDescription`.
    public var plan: TaskPlan? { CanonicalJSON.plan(from: planJSON ?? taskDescription) }

    /// The proxy life that owns the task, if any.
    public var owner: Owner? { Owner(ownerProxy) }
}

/// A Progress row: one node's saved result, with the epoch that wrote it and the digest of its
/// inputs.
public struct ProgressRecord: Codable, Hashable, Sendable {
    public var taskID: TaskID
    public var nodeID: String
    public var epoch: Epoch
    public var result: String
    public var inputDigest: String

    public init(taskID: TaskID, nodeID: String, epoch: Epoch, result: String, inputDigest: String) {
        self.taskID = taskID
        self.nodeID = nodeID
        self.epoch = epoch
        self.result = result
        self.inputDigest = inputDigest
    }
}

/// Why the store refused a write.
public enum RejectReason: String, Codable, Hashable, Sendable {
    /// A data write whose epoch is not the task's current epoch: its writer has been fenced.
    case staleEpoch = "stale_epoch"
    /// A claim not strictly greater than the current epoch.
    case notNewer = "not_newer"
    /// The task is already completed or aborted.
    case finished
    /// A different value for something already written (a node result, a final outcome).
    case conflict
    case noSuchTask = "no_such_task"
}

/// Every write's reply: applied, or rejected with the task's current epoch, so a stale owner
/// learns it is stale and stops.
public enum WriteOutcome: Codable, Hashable, Sendable {
    /// `repeated`: the same write had already been applied (an idempotent retry).
    case applied(current: Epoch, repeated: Bool)
    case rejected(current: Epoch?, reason: RejectReason)

    public var isApplied: Bool { if case .applied = self { true } else { false } }
}

/// How a task ended.
public enum TaskOutcome: Codable, Hashable, Sendable {
    case completed(result: String)
    case aborted(AbortCause)

    public var status: TaskStatus {
        switch self {
        case .completed: .completed
        case .aborted: .aborted
        }
    }
}

public struct StoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
