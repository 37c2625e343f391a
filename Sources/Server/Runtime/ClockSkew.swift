import Foundation

/// A process-wide offset and rate for the shell's clocks, changed at run time: the clock faults
/// of `agentos cluster-test` (a time namespace cannot move the wall clock, so the shell's own
/// clock takes the fault). With no fault set, every reading is the true one.
///
/// After `set(offset:rate:)` at true time `t0`, a reading at true time `t` is
/// `t + offset + (t - t0) * (rate - 1)`: the clock jumps by the change of offset at once (forward
/// or back) and then runs `rate` times as fast as true time. It reaches the role machines through
/// `ShellClock.now()` (scaled by the speedup) and the role plane's signature timestamps through
/// `wallNow()`. A process's life number (incarnation) still comes from the true wall clock.
public final class ClockSkew: @unchecked Sendable {
    public static let shared = ClockSkew()

    private struct State {
        var anchor: ContinuousClock.Instant
        var offsetNanos: Int64 = 0
        var rate = 1.0
        var skewed: Bool { offsetNanos != 0 || rate != 1 }
    }
    private let lock = NSLock()
    private var current = State(anchor: .now)

    private func withState<T>(_ body: (inout State) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&current)
    }

    /// The offset at once, in nanoseconds of true time, and the rate from now on.
    public func set(offsetNanos: Int64, rate: Double) {
        precondition(rate > 0 && rate.isFinite, "a clock's rate must be positive and finite, got \(rate)")
        withState { $0 = State(anchor: .now, offsetNanos: offsetNanos, rate: rate) }
    }

    /// How far the skewed clock is ahead of true time (negative: behind), in nanoseconds.
    public func aheadNanos(at now: ContinuousClock.Instant = .now) -> Int64 {
        withState { state in
            guard state.skewed else { return 0 }
            let since = now - state.anchor
            let sinceNanos = Double(since.components.seconds) * 1e9 + Double(since.components.attoseconds) / 1e9
            return state.offsetNanos + Int64(sinceNanos * (state.rate - 1))
        }
    }

    /// The continuous clock as this process sees it.
    public func now() -> ContinuousClock.Instant {
        let now = ContinuousClock.now
        return now + .nanoseconds(aheadNanos(at: now))
    }

    /// The wall clock as this process sees it.
    public func wallNow() -> Date {
        Date().addingTimeInterval(Double(aheadNanos()) / 1e9)
    }

    /// Applies a clock-control file's text, `OFFSET_MS RATE` (for example `-20000 1.5`); returns
    /// false, changing nothing, if the text is not that.
    @discardableResult
    public func apply(control text: String) -> Bool {
        let parts = text.split(whereSeparator: \.isWhitespace)
        guard parts.count == 2, let offset = Int64(parts[0]), let rate = Double(parts[1]), rate > 0, rate.isFinite,
            abs(offset) <= 86_400_000
        else { return false }
        if withState({ $0.offsetNanos == offset * 1_000_000 && $0.rate == rate }) { return true }
        set(offsetNanos: offset * 1_000_000, rate: rate)
        return true
    }

    /// Polls a clock-control file every 100 ms and applies what it says when it changes (the
    /// harness writes it; a missing or malformed file leaves the clock as it is).
    public func follow(controlFile path: String) {
        Thread.detachNewThread { [self] in
            var last = ""
            while true {
                if let text = try? String(contentsOfFile: path, encoding: .utf8), text != last {
                    last = text
                    apply(control: text)
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }
}
