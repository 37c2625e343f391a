/// What the driver (the simulator or the HTTP shell) must do for the endpoint.
public enum EndpointAction: Hashable, Sendable {
    /// Answer call `id` now with `outcome`: a rejection (429, 503) that never took a slot.
    case reject(id: UInt64, ChatFailure)
    /// Call `id` occupies a slot until `at` (endpoint clock, nanoseconds). At that time deliver
    /// `outcome` if there is one (nil: the call never answers), then call `finish(id:now:)`.
    /// `fault` names the misbehaviour drawn for the call (a `ContentFault` or `TransportFault`
    /// raw value), for observers that judge what the model really did.
    case complete(id: UInt64, at: Instant, outcome: ChatOutcome?, fault: String?)
    /// Continuous batching only: call `wake(now:)` at `at`, replacing any earlier request.
    case wake(at: Instant)
    /// Continuous batching only: call `id` is done now and has left the batch; deliver
    /// `outcome` (nil: the call never answers). No `finish` follows.
    case answer(id: UInt64, outcome: ChatOutcome?, fault: String?)
}

/// One LLM server as a pure state machine: a concurrency limit with a FIFO queue (like one vLLM
/// server), a bounded queue, and fixed one-minute windows of requests and tokens that answer
/// 429 with a retry-after, as OpenAI's limits do.
public struct FakeLLMEndpoint: Sendable {
    public let generator: FakeLLMGenerator
    public private(set) var inFlight = 0
    private var waiting: [(id: UInt64, call: GeneratedCall)] = []
    private var waitingHead = 0
    private var windowIndex: Int64 = -1
    private var windowRequests = 0
    private var windowTokens = 0
    private var callsReceived: UInt64 = 0
    /// Continuous batching: the calls in the batch, in the order they joined, with the work
    /// each has left (nanoseconds at a batch of one), and when the batch last advanced.
    private var batch: [(id: UInt64, remaining: Int64, call: GeneratedCall)] = []
    private var batchClock: Int64 = 0

    public static let windowNanos: Int64 = 60_000_000_000

    /// Recorded calls that answer this endpoint's calls first (`Cassette`); nil: the generator
    /// answers every call.
    public var cassette: Cassette?
    /// The endpoint's name in what a cassette records (`llm-1`, ...).
    public var name = "llm-1"

    public init(config: FakeLLMConfig) {
        generator = FakeLLMGenerator(config: config)
    }

    public var config: FakeLLMConfig { generator.config }
    public var queueDepth: Int { waiting.count - waitingHead }

    /// A call arrives at `now`. `random` is the call's own stream; `facts`, the prompt's facts
    /// if the caller read them already.
    public mutating func receive<R: RandomSource>(
        _ request: ChatRequest, id: UInt64, now instant: Instant, random: inout R, facts: PromptFacts? = nil
    ) -> [EndpointAction] {
        let now = instant.nanoseconds
        if let invalid = request.validationError() { return [.reject(id: id, invalid)] }
        callsReceived &+= 1
        let call: GeneratedCall
        switch cassette?.lookup(request) {
        case nil:
            call = generator.generate(request, callNumber: callsReceived, now: instant, random: &random, facts: facts)
        case .hit(let entry):
            call = generator.replayed(entry, request: request, callNumber: callsReceived, now: instant, facts: facts)
        case .miss(let miss):
            guard let cassette, cassette.mode != .strict else { return [.reject(id: id, .serverError("cassette miss: \(miss)"))] }
            call = generator.generate(request, callNumber: callsReceived, now: instant, random: &random, facts: facts)
            if cassette.mode == .record { cassette.record(call.entry(for: request, endpoint: name, at: instant)) }
        }
        if let limited = admit(tokens: call.budgetTokens, now: now) { return [.reject(id: id, limited)] }
        if let model = config.batching { return batchReceive(id: id, call: call, now: now, model: model) }
        if inFlight < config.capacity.concurrency {
            inFlight += 1
            return [.complete(id: id, at: Instant(nanoseconds: now + call.serviceNanos), outcome: call.outcome, fault: call.faultName)]
        }
        guard queueDepth < config.capacity.queueLimit else {
            return [.reject(id: id, .overloaded("the server has \(queueDepth) requests waiting; try again later"))]
        }
        waiting.append((id, call))
        return []
    }

    /// Call `id` left its slot at `now`: the next waiting call starts.
    public mutating func finish(id: UInt64, now: Instant) -> [EndpointAction] {
        precondition(inFlight > 0, "finish(\(id)) with no call in flight")
        inFlight -= 1
        guard queueDepth > 0 else { return [] }
        let next = waiting[waitingHead]
        waitingHead += 1
        if waitingHead > 64, waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
        inFlight += 1
        return [.complete(id: next.id, at: now + .nanoseconds(next.call.serviceNanos), outcome: next.call.outcome, fault: next.call.faultName)]
    }

    // MARK: - Continuous batching

    private mutating func batchReceive(id: UInt64, call: GeneratedCall, now: Int64, model: BatchingModel) -> [EndpointAction] {
        advance(to: now, model)
        if batch.count < config.capacity.concurrency {
            batch.append((id, call.serviceNanos, call))
        } else {
            guard queueDepth < config.capacity.queueLimit else {
                return [.reject(id: id, .overloaded("the server has \(queueDepth) requests waiting; try again later"))] + nextWake(now: now, model)
            }
            waiting.append((id, call))
        }
        inFlight = batch.count
        return nextWake(now: now, model)
    }

    /// The batch's wake-up: the calls that are done leave it (answered in the order they
    /// joined), waiting calls take their places, and the next wake-up is asked for.
    public mutating func wake(now instant: Instant) -> [EndpointAction] {
        guard let model = config.batching else { return [] }
        let now = instant.nanoseconds
        advance(to: now, model)
        var actions: [EndpointAction] = []
        batch.removeAll { entry in
            guard entry.remaining <= 0 else { return false }
            actions.append(.answer(id: entry.id, outcome: entry.call.outcome, fault: entry.call.faultName))
            return true
        }
        while batch.count < config.capacity.concurrency, queueDepth > 0 {
            let next = waiting[waitingHead]
            waitingHead += 1
            batch.append((next.id, next.call.serviceNanos, next.call))
        }
        if waitingHead > 64, waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
        inFlight = batch.count
        return actions + nextWake(now: now, model)
    }

    /// Moves every call in the batch forward by the time since the last change, at the speed
    /// the batch's size allowed over that time.
    private mutating func advance(to now: Int64, _ model: BatchingModel) {
        defer { batchClock = now }
        guard !batch.isEmpty, now > batchClock else { return }
        let done = (now - batchClock) * 1000 / model.factor(calls: batch.count)
        for index in batch.indices { batch[index].remaining -= done }
    }

    /// When the first call in the batch will be done, at today's batch size (rounded up, so the
    /// wake-up never comes before the work is finished).
    private func nextWake(now: Int64, _ model: BatchingModel) -> [EndpointAction] {
        guard let least = batch.lazy.map(\.remaining).min() else { return [] }
        let factor = model.factor(calls: batch.count)
        return [.wake(at: Instant(nanoseconds: now + (max(0, least) * factor + 999) / 1000))]
    }

    /// Counts the call against the current minute's limits; a 429 if it would exceed one.
    private mutating func admit(tokens: Int, now: Int64) -> ChatFailure? {
        let capacity = config.capacity
        guard capacity.requestsPerMinute != nil || capacity.tokensPerMinute != nil else { return nil }
        let index = now / Self.windowNanos
        if index != windowIndex {
            windowIndex = index
            windowRequests = 0
            windowTokens = 0
        }
        let retryAfter = (index + 1) * Self.windowNanos - now
        if let rpm = capacity.requestsPerMinute, windowRequests + 1 > rpm {
            return .rateLimited("Rate limit reached for requests per minute: limit \(rpm), used \(windowRequests)", retryAfter: .nanoseconds(retryAfter))
        }
        if let tpm = capacity.tokensPerMinute, windowTokens + tokens > tpm {
            return .rateLimited(
                "Rate limit reached for tokens per minute: limit \(tpm), used \(windowTokens), requested \(tokens)",
                retryAfter: .nanoseconds(retryAfter))
        }
        windowRequests += 1
        windowTokens += tokens
        return nil
    }
}
