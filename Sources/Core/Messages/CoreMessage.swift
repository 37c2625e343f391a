/// Every message between roles: one Codable family whose encoding is readable in traces.
/// Every case is `indirect`: a message is copied several times on its way (effect, trace
/// event, queue, delivery, handler input), and a copy is then one retain of its box. With only
/// the large cases boxed, each copy went through the enum's value witness, which switches over
/// twenty cases and retains every string of the inline ones: the whole system ran 13 % slower
/// (`bench swarm`). The box changes how a message is held, never its encoding or its hash.
public indirect enum CoreMessage: Codable, Hashable, Sendable {
    // Client <-> gateway (the seed's client API).
    case submit(requestID: UInt64, query: Query)
    case submitted(requestID: UInt64, taskID: TaskID)
    case submitRejected(requestID: UInt64, reason: String)
    /// Admission control: the cluster holds as many unfinished tasks as it takes. Nothing was
    /// created; the client may try again after `retryAfter`.
    case submitBusy(requestID: UInt64, retryAfter: Interval, reason: String)
    case statusQuery(requestID: UInt64, taskID: TaskID)
    case statusReply(requestID: UInt64, status: TaskStatusView)

    // Any role <-> store.
    case storeRequest(requestID: UInt64, StoreRequest)
    case storeReply(requestID: UInt64, StoreReply)

    // Gateway <-> regional coordinator.
    case assign(taskID: TaskID, epoch: Epoch)
    case regionHeartbeat(region: Address, load: Int)
    case cannotPlace(taskID: TaskID, epoch: Epoch, reason: String)

    // Regional coordinator <-> agent proxy.
    /// Run the task at `epoch`; `owner` is the proxy life the claim names, so a restarted
    /// proxy never acts on a claim made for its previous life.
    case run(taskID: TaskID, epoch: Epoch, owner: Owner)
    /// `sequence` counts the heartbeats of this life of the proxy from 1, so the region can
    /// tell a delayed, duplicated or replayed heartbeat from a fresh one (`Incarnation`).
    case proxyHeartbeat(proxy: Address, incarnation: UInt32, sequence: UInt64, workload: Int)
    case membership(proxies: [ProxyLoad])

    // Task owner <-> LLM worker (both agent proxies).
    case llmWork(LLMWork)
    case llmWorkReply(callID: UInt64, result: LLMWorkResult)
    /// The owner asks a worker which of these calls it still holds.
    case llmWorkCheck(owner: Address, callIDs: [UInt64])
    /// The worker's answer: the ones it holds (queued, running, or waiting to retry).
    case llmWorkHeld(callIDs: [UInt64])

    // LLM worker <-> LLM endpoint (fake or real: the core cannot tell).
    case llmRequest(LLMRequest)
    case llmReply(LLMReply)
}

/// What a client sees of a task, in the seed's status vocabulary.
public enum TaskStatusView: Codable, Hashable, Sendable {
    case pending
    /// Owned at `epoch`, with `saved` node results checkpointed so far.
    case running(epoch: Epoch, saved: Int)
    case completed(result: String)
    case aborted(reason: String)
    case nonExist

    public var name: String {
        switch self {
        case .pending: "pending"
        case .running: "running"
        case .completed: "completed"
        case .aborted: "aborted"
        case .nonExist: "non_exist"
        }
    }

    public init(_ task: TaskRecord?, saved: Int = 0) {
        guard let task else {
            self = .nonExist
            return
        }
        switch task.status {
        case .pending: self = .pending
        case .running: self = .running(epoch: task.epoch, saved: saved)
        case .completed: self = .completed(result: task.result ?? "")
        case .aborted: self = .aborted(reason: task.reason ?? "")
        }
    }
}

public struct ProxyLoad: Codable, Hashable, Sendable {
    public var proxy: Address
    /// Which life of the proxy this is: calls sent to an earlier life are lost.
    public var incarnation: UInt32
    public var workload: Int

    public init(proxy: Address, incarnation: UInt32, workload: Int) {
        self.proxy = proxy
        self.incarnation = incarnation
        self.workload = workload
    }
}

/// The two kinds of LLM call of the tree-of-thoughts loop.
public enum CallKind: String, Codable, Hashable, Sendable {
    case generation
    case voting
}

/// A call a task owner asks a worker to make, with what the worker's scheduler needs.
public struct LLMWork: Codable, Hashable, Sendable {
    public var callID: UInt64
    public var owner: Address
    public var taskID: TaskID
    /// The graph node the call is for: carried to the LLM request as a label, so what was
    /// actually sent can be tied to the node it was for.
    public var node: String
    public var kind: CallKind
    public var prompt: String
    public var stop: [String]
    public var maxTokens: Int
    /// `sjf`: the task's total calls, R x (S + V).
    public var totalCalls: Int
    /// `srtf`: the task's remaining calls, voters weighted one half (in half-calls).
    public var remainingHalfCalls: Int

    public init(
        callID: UInt64, owner: Address, taskID: TaskID, node: String = "", kind: CallKind, prompt: String, stop: [String], maxTokens: Int,
        totalCalls: Int, remainingHalfCalls: Int
    ) {
        self.callID = callID
        self.owner = owner
        self.taskID = taskID
        self.node = node
        self.kind = kind
        self.prompt = prompt
        self.stop = stop
        self.maxTokens = maxTokens
        self.totalCalls = totalCalls
        self.remainingHalfCalls = remainingHalfCalls
    }
}

public enum LLMWorkResult: Codable, Hashable, Sendable {
    case text(String)
    /// The worker's queue is full: try another worker or later.
    case queueFull
    /// Every attempt failed; the reason says why. `retryable`: the last error was transient
    /// (a timeout, a 5xx, a 429), so the call may succeed later; otherwise the LLM refused it
    /// (`status`, a 4xx) and asking again will not help.
    case failed(reason: String, retryable: Bool, status: Int)
}

/// A chat-completions call to an LLM endpoint.
public struct LLMRequest: Codable, Hashable, Sendable {
    public var id: UInt64
    public var prompt: String
    public var stop: [String]
    public var maxTokens: Int
    /// Labels of the call (like OpenAI's request metadata): the task and graph node it is for.
    /// The model ignores them; the simulator's checkers use them to judge what was sent.
    public var task: TaskID
    public var node: String

    public init(id: UInt64, prompt: String, stop: [String], maxTokens: Int, task: TaskID = 0, node: String = "") {
        self.id = id
        self.prompt = prompt
        self.stop = stop
        self.maxTokens = maxTokens
        self.task = task
        self.node = node
    }
}

public struct LLMReply: Codable, Hashable, Sendable {
    public enum Result: Codable, Hashable, Sendable {
        case text(String)
        /// An HTTP-style error; `retryAfter` for rate limits.
        case error(status: Int, message: String, retryAfter: Interval?)
    }

    public var id: UInt64
    public var result: Result

    public init(id: UInt64, result: Result) {
        self.id = id
        self.result = result
    }
}
