/// Why the network did not deliver a message.
public enum DropReason: String, Codable, Sendable {
    /// The link was cut by a partition.
    case partition
    /// Random loss on the link.
    case loss
    /// The receiver was down, or crashed while the message was in flight.
    case receiverDown = "receiver_down"
}

/// Why a message is waiting instead of being delivered.
public enum HoldReason: String, Codable, Sendable {
    case clogged
    case paused
}

/// Every kernel event that reaches the trace and its fingerprint.
public enum TraceEvent<W: SimWorld> {
    case send(id: UInt64, from: NodeID, to: NodeID, W.Message)
    case deliver(id: UInt64, from: NodeID, to: NodeID)
    case drop(id: UInt64, from: NodeID, to: NodeID, DropReason)
    /// The network delivers a second copy of message `id` under the id `copy`.
    case duplicate(id: UInt64, copy: UInt64)
    case hold(id: UInt64, to: NodeID, HoldReason)
    case timer(node: NodeID, W.Timer)
    case start(node: NodeID, incarnation: UInt32)
    case fault(FaultAction)
    case observe(node: NodeID, W.Observation)

    public var kind: String {
        switch self {
        case .send: "send"
        case .deliver: "deliver"
        case .drop: "drop"
        case .duplicate: "duplicate"
        case .hold: "hold"
        case .timer: "timer"
        case .start: "start"
        case .fault: "fault"
        case .observe: "observe"
        }
    }

    /// The canonical encoding that the trace hash consumes: a tag, then the fields in order.
    @inlinable func stableHash(into hasher: inout FNV64) {
        switch self {
        case .send(let id, let from, let to, let message):
            hasher.combine(byte: 1); hasher.combine(id); hasher.combine(from.index); hasher.combine(to.index)
            message.stableHash(into: &hasher)
        case .deliver(let id, let from, let to):
            hasher.combine(byte: 2); hasher.combine(id); hasher.combine(from.index); hasher.combine(to.index)
        case .drop(let id, let from, let to, let reason):
            hasher.combine(byte: 3); hasher.combine(id); hasher.combine(from.index); hasher.combine(to.index)
            hasher.combine(reason.rawValue)
        case .duplicate(let id, let copy):
            hasher.combine(byte: 4); hasher.combine(id); hasher.combine(copy)
        case .hold(let id, let to, let reason):
            hasher.combine(byte: 5); hasher.combine(id); hasher.combine(to.index); hasher.combine(reason.rawValue)
        case .timer(let node, let timer):
            hasher.combine(byte: 6); hasher.combine(node.index); timer.stableHash(into: &hasher)
        case .start(let node, let incarnation):
            hasher.combine(byte: 7); hasher.combine(node.index); hasher.combine(incarnation)
        case .fault(let action):
            hasher.combine(byte: 8); action.stableHash(into: &hasher)
        case .observe(let node, let observation):
            hasher.combine(byte: 9); hasher.combine(node.index); observation.stableHash(into: &hasher)
        }
    }
}

/// An event with its position in the run.
public struct TraceEntry<W: SimWorld> {
    public let index: UInt64
    public let time: SimInstant
    public let event: TraceEvent<W>

    @inlinable public init(index: UInt64, time: SimInstant, event: TraceEvent<W>) {
        self.index = index
        self.time = time
        self.event = event
    }
}
