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

    /// The canonical encoding that the trace hash consumes (trace format version 2): one head
    /// word packing the tag (8 bits) and the event's node indices (28 bits each; the kernel
    /// refuses larger worlds), then the wide fields in order. Packing keeps a delivery at three
    /// hash steps with the time.
    @inlinable @inline(__always)
    func stableHash(into hasher: inout TraceHash) {
        switch self {
        case .send(let id, let from, let to, let message):
            hasher.combine(Self.head(1, from, to)); hasher.combine(id)
            message.stableHash(into: &hasher)
        case .deliver(let id, let from, let to):
            hasher.combine(Self.head(2, from, to)); hasher.combine(id)
        case .drop(let id, let from, let to, let reason):
            hasher.combine(Self.head(3, from, to) | UInt64(reason.code) << 4); hasher.combine(id)
        case .duplicate(let id, let copy):
            hasher.combine(byte: 4); hasher.combine(id); hasher.combine(copy)
        case .hold(let id, let to, let reason):
            hasher.combine(Self.head(5, to) | UInt64(reason.code) << 4); hasher.combine(id)
        case .timer(let node, let timer):
            hasher.combine(Self.head(6, node)); timer.stableHash(into: &hasher)
        case .start(let node, let incarnation):
            hasher.combine(Self.head(7, node)); hasher.combine(incarnation)
        case .fault(let action):
            hasher.combine(byte: 8); action.stableHash(into: &hasher)
        case .observe(let node, let observation):
            hasher.combine(Self.head(9, node)); observation.stableHash(into: &hasher)
        }
    }

    /// The tag in the low four bits, a reason code in the next four, then the node indices.
    @inlinable @inline(__always)
    static func head(_ tag: UInt64, _ node: NodeID) -> UInt64 { tag | UInt64(node.index) << 8 }

    @inlinable @inline(__always)
    static func head(_ tag: UInt64, _ from: NodeID, _ to: NodeID) -> UInt64 {
        tag | UInt64(from.index) << 8 | UInt64(to.index) << 36
    }
}

extension DropReason {
    /// A small code for the trace hash (the raw value stays the trace file's spelling).
    @inlinable var code: UInt8 {
        switch self {
        case .partition: 1
        case .loss: 2
        case .receiverDown: 3
        }
    }
}

extension HoldReason {
    @inlinable var code: UInt8 {
        switch self {
        case .clogged: 1
        case .paused: 2
        }
    }
}

/// An event with its position in the run.
public struct TraceEntry<W: SimWorld> {
    public let index: UInt64
    public let time: Instant
    public let event: TraceEvent<W>

    @inlinable public init(index: UInt64, time: Instant, event: TraceEvent<W>) {
        self.index = index
        self.time = time
        self.event = event
    }
}
