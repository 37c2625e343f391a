/// The Tasks and Progress columns both backends read, in the order their row decoders expect.
public enum StoreColumns {
    public static let task =
        "task_id, user_id, task_type, global_epoch, regional_epoch, task_description, owner_region, owner_proxy, status, result, reason, request_doc_id, response_doc_id, plan"
    public static let progress = "task_id, node_id, global_epoch, regional_epoch, result, input_digest"
}

/// A fenced write's verdict, and the epoch the task had before it (nil: no such task).
public struct Judged: Sendable {
    public let outcome: WriteOutcome
    public let before: Epoch?

    public init(outcome: WriteOutcome, before: Epoch?) {
        self.outcome = outcome
        self.before = before
    }
}

/// What a store must do, whatever holds the data: SQLite (`TaskStore`, the embedded default and
/// the simulator's store) or PostgreSQL (`PostgresTaskStore`, for clusters spread over
/// machines). Every fenced write is one transaction that reads the task row (locked against
/// concurrent writers), asks `FencingRules` for the verdict, and applies what the verdict
/// says; both backends share the rules, so they cannot disagree on a verdict.
///
/// Calls block until the database answers: the store role runs on its own thread.
public protocol TaskStoreBackend: AnyObject, Sendable {
    func createTask(
        userID: Int64, taskType: String, description: String, plan: String?, request: String?, clientKey: String?
    ) throws -> (taskID: TaskID, created: Bool, sameRequest: Bool)
    func getTask(_ id: TaskID) throws -> TaskRecord?
    func taskStatus(_ id: TaskID) throws -> TaskStatusView
    func claimJudged(_ id: TaskID, epoch: Epoch, region: String, proxy: String) throws -> Judged
    func saveProgressJudged(_ id: TaskID, node: String, epoch: Epoch, result: String, inputDigest: String) throws -> Judged
    func finishJudged(_ id: TaskID, epoch: Epoch, outcome: TaskOutcome) throws -> Judged
    func abortJudged(_ id: TaskID, epoch: Epoch, cause: AbortCause) throws -> Judged
    func getProgressList(_ id: TaskID) throws -> [ProgressRecord]
    /// Every Progress row, by task, each task's rows in node order (an audit's whole view); a
    /// task that saved nothing has no entry.
    func allProgress() throws -> [TaskID: [ProgressRecord]]
    func getProgress(_ id: TaskID, node: String) throws -> ProgressRecord?
    func unfinishedTasks(ownedBy region: String?) throws -> [TaskRecord]
    func allTasks() throws -> [TaskRecord]
    // The rest of the seed's Documents/Tasks/Progress API.
    func storeDocument(type: String, content: String) throws -> Int64
    func getDocument(_ id: Int64) throws -> String?
    func deleteDocument(_ id: Int64) throws -> Bool
    func getTaskDescription(_ id: TaskID) throws -> String?
    func updateTaskType(_ id: TaskID, type: String) throws -> Bool
    func updateTaskDescription(_ id: TaskID, epoch: Epoch, description: String) throws -> WriteOutcome
    func deleteTask(_ id: TaskID) throws -> Bool
    func deleteProgress(_ id: TaskID, node: String) throws -> Bool
}

extension TaskStoreBackend {
    /// One read per task; a backend that can read the table in one query does.
    public func allProgress() throws -> [TaskID: [ProgressRecord]] {
        var progress: [TaskID: [ProgressRecord]] = [:]
        for task in try allTasks() {
            let rows = try getProgressList(task.taskID)
            if !rows.isEmpty { progress[task.taskID] = rows }
        }
        return progress
    }

    /// An ownership change: applied only if `epoch` is strictly greater than the stored epoch.
    /// The claim is written before the new owner starts, so the old owner is fenced at once.
    /// A proxy claim (`proxy` non-empty) marks the task running.
    public func claim(_ id: TaskID, epoch: Epoch, region: String, proxy: String) throws -> WriteOutcome {
        try claimJudged(id, epoch: epoch, region: region, proxy: proxy).outcome
    }

    /// A node's result, written by the owner at exactly the current epoch. A node keeps its
    /// first result: the same result again is an idempotent retry, a different one a conflict.
    public func saveProgress(_ id: TaskID, node: String, epoch: Epoch, result: String, inputDigest: String) throws -> WriteOutcome {
        try saveProgressJudged(id, node: node, epoch: epoch, result: result, inputDigest: inputDigest).outcome
    }

    /// The owner's final write at exactly the current epoch: completed with a result, or
    /// aborted with a reason. The response is also stored as a Document.
    public func finish(_ id: TaskID, epoch: Epoch, outcome: TaskOutcome) throws -> WriteOutcome {
        try finishJudged(id, epoch: epoch, outcome: outcome).outcome
    }

    /// The gateway's abort of a task no region or proxy could take: a claim (strictly greater
    /// epoch, which fences every owner) and the final status in one transaction.
    public func abort(_ id: TaskID, epoch: Epoch, cause: AbortCause) throws -> WriteOutcome {
        try abortJudged(id, epoch: epoch, cause: cause).outcome
    }

    public func createTask(userID: Int64, taskType: String, description: String) throws -> (taskID: TaskID, created: Bool, sameRequest: Bool) {
        try createTask(userID: userID, taskType: taskType, description: description, plan: nil, request: nil, clientKey: nil)
    }

    public func unfinishedTasks() throws -> [TaskRecord] { try unfinishedTasks(ownedBy: nil) }
}

/// The verdicts of design section 5's fenced writes, given the task row as the write's
/// transaction found it: the one definition both store backends apply.
public enum FencingRules {
    /// What a write must do: nothing (the verdict is final as it is), or apply its change.
    public enum Decision: Equatable, Sendable {
        case answer(WriteOutcome)
        case apply(WriteOutcome)

        /// The verdict either way.
        public var outcome: WriteOutcome {
            switch self {
            case .answer(let outcome), .apply(let outcome): outcome
            }
        }
    }

    public static func claim(_ task: TaskRecord, epoch: Epoch, region: String, proxy: String) -> Decision {
        if task.status.isFinished { return .answer(.rejected(current: task.epoch, reason: .finished)) }
        if task.epoch == epoch, task.ownerRegion == region, task.ownerProxy == proxy {
            return .answer(.applied(current: epoch, repeated: true))  // a retry of this very claim
        }
        guard EpochRules.judgeClaim(epoch, current: task.epoch) == .applied else {
            return .answer(.rejected(current: task.epoch, reason: .notNewer))
        }
        return .apply(.applied(current: epoch, repeated: false))
    }

    /// The status a claim leaves: a proxy claim marks the task running.
    public static func statusAfterClaim(_ task: TaskRecord, proxy: String) -> TaskStatus { proxy.isEmpty ? task.status : .running }

    public static func saveProgress(_ task: TaskRecord, existing: ProgressRecord?, epoch: Epoch, result: String, inputDigest: String) -> Decision {
        if let existing {
            if existing.result == result, existing.inputDigest == inputDigest, existing.epoch == epoch {
                return .answer(.applied(current: task.epoch, repeated: true))
            }
            return .answer(.rejected(current: task.epoch, reason: epoch == task.epoch ? .conflict : .staleEpoch))
        }
        // Fencing comes before anything else, also when the node has no row yet.
        guard EpochRules.judgeDataWrite(epoch, current: task.epoch) == .applied else {
            return .answer(.rejected(current: task.epoch, reason: .staleEpoch))
        }
        if task.status.isFinished { return .answer(.rejected(current: task.epoch, reason: .finished)) }
        return .apply(.applied(current: task.epoch, repeated: false))
    }

    public static func finish(_ task: TaskRecord, epoch: Epoch, outcome: TaskOutcome) -> Decision {
        if task.status.isFinished {
            let same = task.status == outcome.status && task.epoch == epoch && task.result == outcome.result && task.reason == outcome.reason
            return .answer(same ? .applied(current: task.epoch, repeated: true) : .rejected(current: task.epoch, reason: .finished))
        }
        guard EpochRules.judgeDataWrite(epoch, current: task.epoch) == .applied else {
            return .answer(.rejected(current: task.epoch, reason: .staleEpoch))
        }
        return .apply(.applied(current: task.epoch, repeated: false))
    }

    public static func abort(_ task: TaskRecord, epoch: Epoch, cause: AbortCause) -> Decision {
        if task.status.isFinished {
            let same = task.status == .aborted && task.reason == cause.reason && task.epoch == epoch
            return .answer(same ? .applied(current: task.epoch, repeated: true) : .rejected(current: task.epoch, reason: .finished))
        }
        guard EpochRules.judgeClaim(epoch, current: task.epoch) == .applied else {
            return .answer(.rejected(current: task.epoch, reason: .notNewer))
        }
        return .apply(.applied(current: epoch, repeated: false))
    }

    /// The seed's fenced description update: strictly greater, which it then becomes.
    public static func updateDescription(_ task: TaskRecord, epoch: Epoch) -> Decision {
        guard EpochRules.judgeClaim(epoch, current: task.epoch) == .applied else {
            return .answer(.rejected(current: task.epoch, reason: .notNewer))
        }
        return .apply(.applied(current: epoch, repeated: false))
    }
}

extension TaskOutcome {
    public var result: String? { if case .completed(let result) = self { result } else { nil } }
    public var reason: String? { if case .aborted(let cause) = self { cause.reason } else { nil } }
}
