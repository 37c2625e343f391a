
/// Why a run stopped.
public enum RunStop: String, Sendable, Codable {
    /// The next event lies past the deadline; `now` was advanced to the deadline.
    case deadline
    /// No event is left.
    case quiescent
    /// The condition held.
    case condition
    /// The step budget ran out (a likely livelock, or a budget set too low).
    case stepBudget = "step_budget"
    /// `requestStop()` was called.
    case stopped
}

/// The outcome of the liveness phase.
public struct LivenessResult: Sendable {
    public let converged: Bool
    public let healedAt: Instant
    public let stoppedAt: Instant
    public let stop: RunStop

    @inlinable public init(converged: Bool, healedAt: Instant, stoppedAt: Instant, stop: RunStop) {
        self.converged = converged
        self.healedAt = healedAt
        self.stoppedAt = stoppedAt
        self.stop = stop
    }
}

extension Simulation {
    /// Runs until the deadline, quiescence, the step budget, or `condition` (checked after each
    /// step) holds, whichever comes first. After `requestStop()` every run returns `.stopped`.
    @inlinable @discardableResult
    public func run(
        until deadline: Instant = .distantFuture, stepBudget: UInt64 = .max, condition: (() -> Bool)? = nil
    ) -> RunStop {
        // Without a condition nothing outside the engine is read between steps: the whole
        // loop runs inside one access to it.
        guard let condition else { return engine.run(until: deadline, stepBudget: stepBudget, stop: stopFlag) }
        var steps: UInt64 = 0
        while true {
            if stopFlag.pointee { return .stopped }
            if condition() { return .condition }
            guard let next = engine.queue.min else { return .quiescent }
            if next.time > deadline {
                if engine.now < deadline { engine.now = deadline }
                return .deadline
            }
            if steps >= stepBudget { return .stepBudget }
            _ = engine.step()
            steps += 1
        }
    }

    /// Runs until no event is left (or the budget runs out).
    @inlinable @discardableResult
    public func runUntilQuiescent(stepBudget: UInt64 = .max) -> RunStop {
        run(until: .distantFuture, stepBudget: stepBudget)
    }

    /// The liveness phase: cancels the rest of the fault timeline, heals every fault (restarting
    /// crashed nodes), then runs until `condition` holds or `budget` of virtual time passes.
    @inlinable public func healAndAwait(
        budget: Interval, stepBudget: UInt64 = .max, condition: @escaping () -> Bool
    ) -> LivenessResult {
        engine.timelineCancelled = true
        engine.apply(.healAll)
        let healedAt = now
        let stop = run(until: healedAt + budget, stepBudget: stepBudget, condition: condition)
        return LivenessResult(converged: stop == .condition, healedAt: healedAt, stoppedAt: now, stop: stop)
    }
}

extension Engine {
    /// `Simulation.run` without a condition: the same checks with the same outcomes, with the
    /// peek and the pop of each step done in one queue operation.
    @inlinable mutating func run(until deadline: Instant, stepBudget: UInt64, stop: UnsafeMutablePointer<Bool>) -> RunStop {
        var steps: UInt64 = 0
        while true {
            if stop.pointee { return .stopped }
            if steps >= stepBudget {
                // Once per run: an empty queue and a deadline outrank the budget.
                guard let next = queue.min else { return .quiescent }
                if next.time > deadline {
                    if now < deadline { now = deadline }
                    return .deadline
                }
                return .stepBudget
            }
            switch queue.popMin(notAfter: deadline) {
            case .empty:
                return .quiescent
            case .later:
                if now < deadline { now = deadline }
                return .deadline
            case .event(let next):
                process(next)
                steps &+= 1
            }
        }
    }
}
