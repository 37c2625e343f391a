/// What a simulated world is made of: its message, timer and observation types. The kernel is
/// generic over these and knows nothing else about the system it runs.
public protocol SimWorld {
    associatedtype Message: SimPayload
    associatedtype Timer: SimTimer
    associatedtype Observation: SimPayload
}

/// A value that can travel through the simulator and appear in a trace. `stableHash` feeds a
/// canonical encoding to the trace fingerprint; it must depend only on the value's content.
public protocol SimPayload: Codable, Sendable {
    func stableHash(into hasher: inout TraceHash)
}

/// A node's identity in one simulation: a dense index, in the order nodes were declared.
public struct NodeID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let index: Int

    public init(_ index: Int) { self.index = index }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.index < rhs.index }
    public var description: String { "#\(index)" }
}

/// The inputs a node receives (design section 3): boot or restart, a message, a timer.
public enum ProcessInput<W: SimWorld> {
    case start
    case message(from: NodeID, W.Message)
    case timer(W.Timer)
}

/// A node: a state machine that turns inputs into effects through its context. It never reads
/// a clock, draws system randomness, sleeps, spawns tasks or does IO.
public protocol SimProcess<World> {
    associatedtype World: SimWorld
    mutating func handle(_ input: ProcessInput<World>, context: inout ProcessContext<World>)
}

/// What the factory of a node is told when it builds a fresh instance.
public struct NodeBoot: Sendable {
    public let id: NodeID
    public let name: String
    /// 1 on the first start, +1 on every restart.
    public let incarnation: UInt32
    public let nodeCount: Int

    @inlinable public init(id: NodeID, name: String, incarnation: UInt32, nodeCount: Int) {
        self.id = id
        self.name = name
        self.incarnation = incarnation
        self.nodeCount = nodeCount
    }
}

/// One effect of a handler, applied by the kernel in the order the handler produced them.
public enum Effect<W: SimWorld> {
    case send(to: NodeID, W.Message)
    case setTimer(W.Timer, after: Interval)
    case cancelTimer(W.Timer)
    case observe(W.Observation)
}

/// The handler's window on the world: the current virtual time, its own identity, its own
/// random stream, and a buffer of effects.
public struct ProcessContext<W: SimWorld> {
    public let now: Instant
    public let node: NodeID
    public let incarnation: UInt32
    /// The node's own stream, stored in the kernel's node table: draws advance it in place.
    /// (Copying a 32-byte state in and out around every handler cost more than the handler's
    /// draws, and the copy back read memory the handler had just written.)
    @usableFromInline let randomState: UnsafeMutablePointer<SimRandom>
    /// The effects so far, applied in order after the handler returns.
    public var effects: [Effect<W>]

    @usableFromInline init(
        now: Instant, node: NodeID, incarnation: UInt32, random: UnsafeMutablePointer<SimRandom>, effects: [Effect<W>]
    ) {
        self.now = now
        self.node = node
        self.incarnation = incarnation
        self.randomState = random
        self.effects = effects
    }

    /// The node's random stream. Valid only during the handler call the context was made for.
    public var random: SimRandom {
        @inlinable @inline(__always) get { randomState.pointee }
        @inlinable @inline(__always) nonmutating set { randomState.pointee = newValue }
        @inlinable @inline(__always) nonmutating _modify { yield &randomState.pointee }
    }

    public mutating func send(_ message: W.Message, to destination: NodeID) {
        effects.append(.send(to: destination, message))
    }

    /// Arms `timer` to fire after `delay`; arming an armed timer moves it.
    public mutating func setTimer(_ timer: W.Timer, after delay: Interval) {
        precondition(delay.nanoseconds >= 0, "timer \(timer) armed with negative delay \(delay)")
        effects.append(.setTimer(timer, after: delay))
    }

    public mutating func cancelTimer(_ timer: W.Timer) {
        effects.append(.cancelTimer(timer))
    }

    public mutating func observe(_ observation: W.Observation) {
        effects.append(.observe(observation))
    }
}
