/// What roles ask of the store node.
public enum StoreRequest: Codable, Hashable, Sendable {
    /// `description`: the client's task description; `plan`: the validated plan, canonical JSON.
    case createTask(userID: Int64, taskType: String, description: String, plan: String, request: String, clientKey: String)
    case getTask(TaskID)
    /// What a client sees of a task: its status, and while it runs its epoch and saved nodes.
    case taskStatus(TaskID)
    /// `owner` nil: the gateway's claim for a region, before any proxy owns the task.
    case claim(TaskID, epoch: Epoch, region: Address, owner: Owner?)
    case saveProgress(TaskID, node: String, epoch: Epoch, result: String, inputDigest: String)
    case finish(TaskID, epoch: Epoch, outcome: TaskOutcome)
    case abort(TaskID, epoch: Epoch, cause: AbortCause)
    case getProgressList(TaskID)
    /// Unfinished tasks, all of them or those owned by one region.
    case unfinishedTasks(region: Address?)
}

public enum StoreReply: Codable, Hashable, Sendable {
    case created(TaskID)
    /// The client key was first used for a different request: nothing was created.
    case keyConflict(TaskID)
    case status(TaskStatusView)
    case task(TaskRecord?)
    case write(WriteOutcome)
    case progress([ProgressRecord])
    case tasks([TaskRecord])
    /// The store could not execute the request (an SQLite error).
    case failed(String)
}

/// Facts the roles record for the invariant checkers and the trace.
public indirect enum CoreObservation: Codable, Hashable, Sendable {
    /// The store judged a write; `before` is the task's epoch before it.
    case write(task: TaskID, request: WriteKind, epoch: Epoch, before: Epoch?, outcome: WriteOutcome)
    /// A task owner starts computing a node from these parent results (digests, by parent id).
    case nodeStarted(task: TaskID, node: String, epoch: Epoch, inputDigest: String, parents: [ParentResult])
    /// A task owner stopped work on a task because the store fenced it.
    case ownerFenced(task: TaskID, epoch: Epoch, current: Epoch?)
    /// The gateway acknowledged a task to a client.
    case taskAcknowledged(task: TaskID)
    /// A role rejected a client query.
    case queryRejected(reason: String)
    /// Admission control refused a query before creating anything: `open` unfinished tasks as
    /// the gateway counts them, a count it formed from the sweep it sent `viewAge` ago (then
    /// the store was read) and from what it learned after. An age, not a time: a real
    /// process's clock is its own.
    case admissionRefused(open: Int, viewAge: Interval)
    /// The store executed a create: a new task, the task an earlier create with the same client
    /// key made for the same query (`existing`), or a refusal because the key was used for a
    /// different query (`conflict`).
    case taskCreated(task: TaskID, key: String, outcome: CreateOutcome)
    /// The gateway (this incarnation of it) admitted a query under `key` and sent its create,
    /// so it counts against the admission limit until the create is answered.
    case createAdmitted(key: String, incarnation: UInt32)
    /// The gateway stopped waiting for the create under `key`: `answered` false when the store
    /// never answered (the task may exist all the same: an admission the gateway lost track of).
    case createEnded(key: String, incarnation: UInt32, answered: Bool)
    /// A region ignored a heartbeat of `proxy`'s life `incarnation` because it had heard a
    /// newer one (of life `newest`, or a later heartbeat of the same life).
    case staleHeartbeatIgnored(proxy: Address, incarnation: UInt32, newest: UInt32)
    /// A free-form note for readers of the trace.
    case note(String)
}

/// What a create did at the store.
public enum CreateOutcome: String, Codable, Hashable, Sendable {
    case new
    case existing
    case conflict
}

/// A parent's result as a node's owner used it: the digest of the text.
public struct ParentResult: Codable, Hashable, Sendable {
    public var node: String
    public var resultDigest: String

    public init(node: String, resultDigest: String) {
        self.node = node
        self.resultDigest = resultDigest
    }
}

public enum WriteKind: Codable, Hashable, Sendable {
    case claim(region: Address, owner: Owner?)
    case progress(node: String, resultDigest: String, inputDigest: String)
    /// `cause`: why, when the owner aborted the task.
    case finish(status: TaskStatus, resultDigest: String, cause: AbortCause?)
    case abort(cause: AbortCause)
}

extension CoreObservation {
    /// The task the fact is about, if it is about one.
    public var task: TaskID? {
        switch self {
        case .write(let task, _, _, _, _), .nodeStarted(let task, _, _, _, _), .ownerFenced(let task, _, _), .taskAcknowledged(let task): task
        case .taskCreated(let task, _, _): task
        case .queryRejected, .admissionRefused, .createAdmitted, .createEnded, .staleHeartbeatIgnored, .note: nil
        }
    }
}
