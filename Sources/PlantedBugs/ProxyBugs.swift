// Owners and workers with a plausible mistake each.
@_spi(PlantedBugs) import Core
import Determinism

/// An owner that takes "your epoch is stale" for "saved" and carries on.
public struct RejectionIgnoringProxy: CoreMachine {
    var inner: AgentProxy

    public init(inner: AgentProxy) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        var input = input
        if case .message(let from, .storeReply(let id, .write(.rejected(let current, .staleEpoch)))) = input {
            input = .message(from: from, .storeReply(requestID: id, .write(.applied(current: current ?? .initial, repeated: false))))
        }
        return inner.handle(input, context: context, random: &random)
    }
}

/// A new owner that ignores the progress it loads and computes every node again.
public struct ProgressIgnoringProxy: CoreMachine {
    var inner: AgentProxy

    public init(inner: AgentProxy) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        var input = input
        if case .message(let from, .storeReply(let id, .progress)) = input {
            input = .message(from: from, .storeReply(requestID: id, .progress([])))
        }
        return inner.handle(input, context: context, random: &random)
    }
}

/// An owner whose prompt builder drops the last parent's result (an off-by-one over the
/// parents), while it still declares the right parents and input digest.
public struct ParentDroppingProxy: CoreMachine {
    var inner: AgentProxy

    public init(inner: AgentProxy) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        inner.handle(input, context: context, random: &random).map { effect in
            guard case .send(let to, .llmWork(var work)) = effect, work.kind == .generation,
                let start = work.prompt.range(of: "<<result of step ", options: .backwards),
                let end = work.prompt.range(of: ">>\n", range: work.prompt.range(of: "<<end of step ", range: start.upperBound..<work.prompt.endIndex)!.upperBound..<work.prompt.endIndex)
            else { return effect }
            work.prompt.removeSubrange(start.lowerBound..<end.upperBound)
            return .send(to: to, .llmWork(work))
        }
    }
}

/// A worker that forgets a call when one LLM attempt fails, instead of backing off and
/// retrying it: the call is never answered, and only the owner's lost-work resend hides it.
public struct FailureDroppingWorker: CoreMachine {
    var inner: AgentProxy

    public init(inner: AgentProxy) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        var effects = inner.handle(input, context: context, random: &random)
        if case .message(_, .llmReply(let reply)) = input, case .error = reply.result, inner.forgetBackoff(attempt: reply.id) {
            effects.removeAll { Self.isRetry($0, reply.id) }
        }
        return effects
    }

    static func isRetry(_ effect: CoreEffect, _ id: UInt64) -> Bool {
        if case .setTimer(.llmRetry(let callID), _) = effect { return callID == id }
        return false
    }
}

/// An owner that takes the store's "conflict" (another write of this very epoch saved the node
/// first) for success and keeps its own result: its next node builds on a result the store
/// does not hold. Only a write that arrives after its own retry saved the node shows it.
public struct ConflictIgnoringProxy: CoreMachine {
    var inner: AgentProxy

    public init(inner: AgentProxy) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        var input = input
        if case .message(let from, .storeReply(let id, .write(.rejected(let current?, .conflict)))) = input {
            input = .message(from: from, .storeReply(requestID: id, .write(.applied(current: current, repeated: false))))
        }
        return inner.handle(input, context: context, random: &random)
    }
}

/// An owner that does not restart a call's backstop when its worker says it still holds the
/// call: a call queued behind slow ones is counted as failed when the first backstop runs
/// out, though the worker was about to answer it. Only a worker busy for the whole backstop
/// (minutes) shows it.
public struct BackstopKeepingOwner: CoreMachine {
    var inner: AgentProxy

    public init(inner: AgentProxy) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        var effects = inner.handle(input, context: context, random: &random)
        if case .message(_, .llmWorkHeld) = input {
            effects.removeAll { if case .setTimer(.workTimeout, _) = $0 { true } else { false } }
        }
        return effects
    }
}

/// A worker that keeps a call's last error across its retries and, when a retry succeeds,
/// reports the error it kept instead of the answer: a transient failure followed by success
/// looks to the owner like a call that failed, so it asks again (and pays for it again).
public struct StaleErrorWorker: CoreMachine {
    var inner: AgentProxy
    /// Ids of LLM requests that were retries of a failed attempt.
    var retries: Set<UInt64> = []

    public init(inner: AgentProxy) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        let effects = inner.handle(input, context: context, random: &random)
        switch input {
        case .timer(.llmRetry):
            for case .send(_, .llmRequest(let request)) in effects { retries.insert(request.id) }
            return effects
        case .message(_, .llmReply(let reply)):
            guard case .text = reply.result, retries.remove(reply.id) != nil else { return effects }
            return effects.map { effect in
                guard case .send(let to, .llmWorkReply(let callID, .text)) = effect else { return effect }
                return .send(to: to, .llmWorkReply(callID: callID, result: .failed(reason: "HTTP 503: kept from an earlier attempt", retryable: true, status: 503)))
            }
        default:
            return effects
        }
    }
}
