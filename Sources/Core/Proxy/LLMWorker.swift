public struct LLMWorkerSettings: Codable, Hashable, Sendable {
    /// Calls waiting beyond the active ones; more get an explicit `queueFull`.
    public var queueCapacity: Int
    /// LLM calls in flight at once.
    public var concurrency: Int
    public var scheduling: SchedulingPolicy
    /// How long one LLM attempt may take.
    public var timeout: Interval
    /// Extra attempts after a failed one. With the doubling backoff, five retries span about
    /// 30 s, so a node's three round attempts ride out an LLM outage of a minute and a half
    /// instead of aborting every task in flight.
    public var retries: Int
    /// The wait before the first retry; doubled for each next one.
    public var backoff: Interval

    public init(
        queueCapacity: Int = 64, concurrency: Int = 4, scheduling: SchedulingPolicy = .fifo, timeout: Interval = .seconds(60),
        retries: Int = 5, backoff: Interval = .seconds(1)
    ) {
        self.queueCapacity = queueCapacity
        self.concurrency = concurrency
        self.scheduling = scheduling
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
    }
}

/// The LLM-worker half of an agent proxy: a bounded queue served by a scheduling policy, a cap
/// on concurrent LLM calls, and on each call a timeout and bounded retries with backoff, so
/// every caller gets an answer: text, `queueFull`, or `failed` with a reason.
struct LLMWorker {
    struct Queued {
        var work: LLMWork
        var arrival: UInt64
    }

    struct Active {
        var work: LLMWork
        var attempt: Int
        var lastError: String
        /// The endpoint index of the first attempt; attempt k goes to the k-th from there.
        var firstEndpoint = 0

        var endpointIndex: Int { firstEndpoint + attempt - 1 }
    }

    let settings: LLMWorkerSettings
    /// The endpoint first tried, then the others in turn: attempt k of a call goes to the k-th
    /// endpoint from the preferred one, so a dead or failing endpoint costs one attempt, not all.
    let endpoints: [Address]
    /// Where new calls start. Three failed attempts in a row at the preferred endpoint move it
    /// on, so a dead endpoint stops holding up every new call after a few timeouts; after 50
    /// good answers elsewhere the worker tries its own endpoint again, so one bad spell does not
    /// pile its load onto another proxy's endpoint for good.
    private var preferred = 0
    private var failuresAtPreferred = 0
    private var answersAway = 0
    static let failuresToMove = 3
    static let answersBeforeHome = 50
    private var queue: [Queued] = []
    private var arrivals: UInt64 = 0
    /// Keyed by the id of the attempt's LLM request; a late reply to an earlier attempt finds
    /// nothing here and is ignored.
    private var active: [UInt64: Active] = [:]
    /// Calls waiting out a backoff, keyed by the id of the attempt that failed.
    var backingOff: [UInt64: Active] = [:]
    private var ids: RequestIDs
    /// Calls answered lately, so a copy of a call the network delivered twice is not served
    /// (and answered) a second time. Bounded: the oldest are forgotten first.
    private var answered: Set<CallKey> = []
    private var answeredOrder: [CallKey] = []
    private var answeredHead = 0
    static let answeredMemory = 4096

    struct CallKey: Hashable {
        var owner: Address
        var callID: UInt64
    }

    init(settings: LLMWorkerSettings, endpoint: Address, fallbacks: [Address] = [], incarnation: UInt32) {
        self.settings = settings
        endpoints = [endpoint] + fallbacks.filter { $0 != endpoint }
        ids = RequestIDs(incarnation: incarnation)
    }

    /// Which of an owner's calls this worker still holds (queued, running, or backing off).
    func held(owner: Address, callIDs: [UInt64]) -> [UInt64] {
        let asked = Set(callIDs)
        var held = Set<UInt64>()
        for item in queue where item.work.owner == owner && asked.contains(item.work.callID) { held.insert(item.work.callID) }
        for call in active.values where call.work.owner == owner && asked.contains(call.work.callID) { held.insert(call.work.callID) }
        for call in backingOff.values where call.work.owner == owner && asked.contains(call.work.callID) { held.insert(call.work.callID) }
        return held.sorted()
    }

    /// Calls waiting plus calls holding a slot: the workload reported in heartbeats.
    var load: Int { queue.count + active.count + backingOff.count }

    mutating func receive(_ work: LLMWork, into effects: inout [CoreEffect]) {
        guard !isKnown(work) else { return }  // a duplicate: the call is held or was answered
        guard queue.count < settings.queueCapacity else {
            answer(work, .queueFull, into: &effects)
            return
        }
        arrivals += 1
        queue.append(Queued(work: work, arrival: arrivals))
        dispatch(into: &effects)
    }

    mutating func reply(_ reply: LLMReply, into effects: inout [CoreEffect]) {
        guard let call = active.removeValue(forKey: reply.id) else { return }
        effects.append(.cancelTimer(.llmTimeout(callID: reply.id)))
        switch reply.result {
        case .text(let text):
            if call.endpointIndex % endpoints.count == preferred {
                failuresAtPreferred = 0
                if preferred != 0 {
                    answersAway += 1
                    if answersAway >= Self.answersBeforeHome { (preferred, answersAway) = (0, 0) }
                }
            }
            answer(call.work, .text(text), into: &effects)
            dispatch(into: &effects)
        case .error(let status, let message, let retryAfter):
            // Client errors other than rate limits will not get better by retrying.
            let retryable = status == 429 || status >= 500
            failed(
                call, attemptID: reply.id, reason: "HTTP \(status): \(message)", status: status, retryable: retryable, retryAfter: retryAfter,
                into: &effects)
        }
    }

    mutating func timedOut(_ requestID: UInt64, into effects: inout [CoreEffect]) {
        guard let call = active.removeValue(forKey: requestID) else { return }
        failed(
            call, attemptID: requestID, reason: "no answer within \(settings.timeout.milliseconds) ms", status: 0, retryable: true,
            retryAfter: nil, into: &effects)
    }

    mutating func retryDue(_ attemptID: UInt64, into effects: inout [CoreEffect]) {
        guard var call = backingOff.removeValue(forKey: attemptID) else { return }
        call.attempt += 1
        send(call, into: &effects)
    }

    private mutating func failed(
        _ call: Active, attemptID: UInt64, reason: String, status: Int, retryable: Bool, retryAfter: Interval?, into effects: inout [CoreEffect]
    ) {
        var call = call
        call.lastError = reason
        if retryable, call.endpointIndex % endpoints.count == preferred {
            failuresAtPreferred += 1
            if failuresAtPreferred >= Self.failuresToMove {
                preferred = (preferred + 1) % endpoints.count
                failuresAtPreferred = 0
                answersAway = 0
            }
        }
        guard retryable, call.attempt <= settings.retries else {
            let summary = "LLM call failed after \(call.attempt) attempt(s): \(reason)"
            answer(call.work, .failed(reason: summary, retryable: retryable, status: status), into: &effects)
            dispatch(into: &effects)
            return
        }
        let backoff = settings.backoff << Int64(call.attempt - 1)
        backingOff[attemptID] = call
        effects.append(.setTimer(.llmRetry(callID: attemptID), after: max(backoff, retryAfter ?? .zero)))
    }

    /// The one place a call gets its terminal answer.
    private mutating func answer(_ work: LLMWork, _ result: LLMWorkResult, into effects: inout [CoreEffect]) {
        effects.append(.send(to: work.owner, .llmWorkReply(callID: work.callID, result: result)))
        let key = CallKey(owner: work.owner, callID: work.callID)
        guard answered.insert(key).inserted else { return }
        if answeredOrder.count < Self.answeredMemory {
            answeredOrder.append(key)
        } else {
            answered.remove(answeredOrder[answeredHead])
            answeredOrder[answeredHead] = key
            answeredHead = (answeredHead + 1) % Self.answeredMemory
        }
    }

    private func isKnown(_ work: LLMWork) -> Bool {
        if answered.contains(CallKey(owner: work.owner, callID: work.callID)) { return true }
        let matches = { (other: LLMWork) in other.owner == work.owner && other.callID == work.callID }
        return queue.contains { matches($0.work) } || active.values.contains { matches($0.work) } || backingOff.values.contains { matches($0.work) }
    }

    /// Starts queued calls while slots are free, in the policy's order.
    private mutating func dispatch(into effects: inout [CoreEffect]) {
        while active.count + backingOff.count < settings.concurrency, !queue.isEmpty {
            let next = queue.indices.min { key(queue[$0]) < key(queue[$1]) }!
            let queued = queue.remove(at: next)
            send(Active(work: queued.work, attempt: 1, lastError: "", firstEndpoint: preferred), into: &effects)
        }
    }

    private func key(_ queued: Queued) -> (Int64, UInt64) {
        switch settings.scheduling {
        case .fifo: (0, queued.arrival)
        case .arrivalPriority: (queued.work.taskID, queued.arrival)
        case .sjf: (Int64(queued.work.totalCalls), queued.arrival)
        case .srtf: (Int64(queued.work.remainingHalfCalls), queued.arrival)
        }
    }

    private mutating func send(_ call: Active, into effects: inout [CoreEffect]) {
        let id = ids.make()
        active[id] = call
        let request = LLMRequest(
            id: id, prompt: call.work.prompt, stop: call.work.stop, maxTokens: call.work.maxTokens, task: call.work.taskID, node: call.work.node)
        effects.append(.send(to: endpoints[call.endpointIndex % endpoints.count], .llmRequest(request)))
        effects.append(.setTimer(.llmTimeout(callID: id), after: settings.timeout))
    }
}
