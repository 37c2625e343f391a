/// The sans-IO contract every role follows (design section 3): an input and the current time
/// in, effects out. A role never reads a clock, draws system randomness, sleeps, spawns tasks
/// or does IO; storage and LLM calls are messages to other nodes.
///
/// A role implements one of the two `handle` methods; each has a default made from the other
/// (so a role that implements neither recurses until the stack runs out).
/// The built-in roles implement the one that appends to the caller's buffer, which the runtime
/// reuses from input to input (a fresh array per input was an allocation per simulated event).
public protocol CoreMachine {
    mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect]
    /// Appends the input's effects to `effects`, which may hold other effects already.
    mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R, into effects: inout [CoreEffect])
}

extension CoreMachine {
    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        var effects: [CoreEffect] = []
        handle(input, context: context, random: &random, into: &effects)
        return effects
    }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R, into effects: inout [CoreEffect]) {
        effects += handle(input, context: context, random: &random)
    }
}

public enum CoreInput: Sendable {
    case start
    case message(from: Address, CoreMessage)
    case timer(CoreTimer)
}

/// What a role is told about itself with each input.
public struct CoreContext: Sendable {
    public let now: Instant
    public let address: Address
    /// 1 on the first start, +1 on every restart.
    public let incarnation: UInt32

    public init(now: Instant, address: Address, incarnation: UInt32) {
        self.now = now
        self.address = address
        self.incarnation = incarnation
    }
}

public enum CoreEffect: Sendable, Equatable {
    case send(to: Address, CoreMessage)
    case setTimer(CoreTimer, after: Interval)
    case cancelTimer(CoreTimer)
    case observe(CoreObservation)
}

/// The roles' timers. Arming an armed timer moves it.
public enum CoreTimer: Codable, Hashable, Sendable {
    case heartbeat
    case sweep
    case storeRetry(requestID: UInt64)
    case llmTimeout(callID: UInt64)
    case llmRetry(callID: UInt64)
    case workTimeout(callID: UInt64)
    /// The owner checks that its outstanding calls are still held by their workers.
    case workCheck
    /// A call that met full queues everywhere is offered again.
    case capacityRetry(callID: UInt64)
}

/// Request ids are unique across a node's incarnations, so a late reply to an earlier life is
/// never taken for a reply to this one.
public struct RequestIDs: Sendable {
    private var next: UInt64

    public init(incarnation: UInt32) {
        next = UInt64(incarnation) << 40
    }

    public mutating func make() -> UInt64 {
        next += 1
        return next
    }
}
