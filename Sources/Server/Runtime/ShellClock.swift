import Core

/// The real shell's clock for the roles and the fake LLM: time since the process started, as
/// the core's `Instant`, run `speedup` times fast. The simulator's virtual clock is the only
/// other source of an `Instant`; nothing in Core reads either.
public struct ShellClock: Sendable {
    public let start: ContinuousClock.Instant
    public let speedup: Int64
    let skew: ClockSkew

    public init(speedup: Int64, start: ContinuousClock.Instant = .now) {
        self.init(speedup: speedup, start: start, skew: .shared)
    }

    init(speedup: Int64, start: ContinuousClock.Instant, skew: ClockSkew) {
        precondition(speedup >= 1, "speedup must be at least 1, got \(speedup)")
        self.start = start
        self.speedup = speedup
        self.skew = skew
    }

    /// Scaled time since the start, as the process's clock sees it (`ClockSkew`: a clock fault
    /// can move it forward or back; a reading before the start is the start).
    public func now() -> Instant {
        let elapsed = skew.now() - start
        return Instant(nanoseconds: max(0, elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000) * speedup)
    }

    /// Scaled time since the start, as a span (a request's latency on a clock made when it
    /// was sent).
    public func elapsed() -> Interval { now() - .zero }

    /// The real time a scaled span takes (never negative).
    public func real(_ interval: Interval) -> Duration {
        .nanoseconds(max(0, interval.nanoseconds) / speedup)
    }
}
