import FakeLLM

/// The fake LLM's endpoint state machine driven by real time: one actor owns the state, each
/// HTTP request awaits the moment its call completes, then sleeps until then.
public actor LiveFakeLLM {
    public enum Admission: Sendable {
        case rejected(ChatFailure)
        /// The call completes at `at` (nanoseconds since the server started); nil outcome: it
        /// never answers.
        case scheduled(id: UInt64, at: Instant, outcome: ChatOutcome?)
        /// Continuous batching: the call is done (nil outcome: it never answers).
        case answered(outcome: ChatOutcome?)
    }

    private var endpoint: FakeLLMEndpoint
    private var random: SeededSource
    private let clock: ShellClock
    private var nextID: UInt64 = 0
    private var waiters: [UInt64: CheckedContinuation<Admission, Never>] = [:]
    private var ready: [UInt64: Admission] = [:]
    /// The newest wake-up the batching endpoint asked for; older ones are stale.
    private var wakeGeneration: UInt64 = 0

    /// `speedup` divides every delay (1 = real speed), for tests and demos.
    /// `cassette`: recorded calls that answer first (`Cassette`), in its mode.
    public init(config: FakeLLMConfig, seed: UInt64, speedup: Int64 = 1, cassette: Cassette? = nil) {
        clock = ShellClock(speedup: speedup)
        endpoint = FakeLLMEndpoint(config: config)
        endpoint.cassette = cassette
        random = SeededSource(seed: seed)
    }

    public var config: FakeLLMConfig { endpoint.config }

    /// Scaled time since the server started (real time times `speedup`).
    public func now() -> Instant { clock.now() }

    /// Real time to wait until virtual instant `at`.
    public func delay(until at: Instant) -> Duration {
        clock.real(at - now())
    }

    /// Submits a call; returns once it has a slot (or is rejected).
    public func submit(_ request: ChatRequest) async -> Admission {
        let id = nextID
        nextID += 1
        apply(endpoint.receive(request, id: id, now: now(), random: &random))
        if let admission = ready.removeValue(forKey: id) { return admission }
        return await withCheckedContinuation { waiters[id] = $0 }
    }

    /// The call left its slot: the next waiting call starts.
    public func finish(id: UInt64) {
        apply(endpoint.finish(id: id, now: now()))
    }

    private func wake(generation: UInt64) {
        guard generation == wakeGeneration else { return }
        apply(endpoint.wake(now: now()))
    }

    private func apply(_ actions: [EndpointAction]) {
        for action in actions {
            let (id, admission): (UInt64, Admission)
            switch action {
            case .reject(let rejected, let failure): (id, admission) = (rejected, .rejected(failure))
            case .complete(let started, let at, let outcome, _): (id, admission) = (started, .scheduled(id: started, at: at, outcome: outcome))
            case .answer(let done, let outcome, _): (id, admission) = (done, .answered(outcome: outcome))
            case .wake(let at):
                wakeGeneration += 1
                let generation = wakeGeneration
                let wait = delay(until: at)
                Task {
                    try? await Task.sleep(for: wait)
                    await self.wake(generation: generation)
                }
                continue
            }
            if let waiter = waiters.removeValue(forKey: id) {
                waiter.resume(returning: admission)
            } else {
                ready[id] = admission
            }
        }
    }
}
