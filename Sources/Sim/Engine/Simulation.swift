import DequeModule

/// How to build one node: a name and a factory called at every (re)start.
public struct NodeSpec<W: SimWorld> {
    public let name: String
    public let startAt: Instant
    public let make: (NodeBoot) -> any SimProcess<W>

    public init(_ name: String, startAt: Instant = .zero, make: @escaping (NodeBoot) -> any SimProcess<W>) {
        self.name = name
        self.startAt = startAt
        self.make = make
    }
}

/// The deterministic discrete-event simulator. One seed, one node list, one network config and
/// one fault timeline determine every event; events are ordered by (virtual time, sequence
/// number) and ties are broken only by insertion order.
///
/// The class is a thin handle: all hot state lives in the `Engine` struct, which the class
/// reaches once per step, so the event loop pays no dynamic exclusivity checks. Callbacks
/// (`eventSink`, run conditions) may read the simulation between steps; an `eventSink` runs
/// inside a step and may only call `requestStop()`.
public final class Simulation<W: SimWorld> {
    @usableFromInline var engine: Engine<W>
    /// Set by `requestStop()`, possibly from an `eventSink` inside a step, and read by the
    /// event loop between steps. Behind a pointer rather than in a stored property so that the
    /// loop can run inside one access to `engine` (a class property pays a dynamic exclusivity
    /// check on every access, which was a tenth of the kernel's time when taken per step).
    @usableFromInline let stopFlag: UnsafeMutablePointer<Bool>

    public init(seed: UInt64, network: NetworkConfig = NetworkConfig(), nodes: [NodeSpec<W>], faults: [FaultEntry] = [])
        throws
    {
        engine = try Engine(seed: seed, network: network, nodes: nodes, faults: faults)
        stopFlag = .allocate(capacity: 1)
        stopFlag.initialize(to: false)
    }

    deinit {
        stopFlag.deallocate()
    }

    // MARK: Queries

    public var seed: UInt64 { engine.seed }
    public var network: NetworkConfig { engine.network }
    public var names: [String] { engine.names }
    /// The fault timeline this run was given (recorded in trace headers).
    public var timeline: [FaultEntry] { engine.timeline }
    public var now: Instant { engine.now }
    /// Queue events processed (deliveries, timers, faults, boots).
    public var stepCount: UInt64 { engine.stepCount }
    /// Trace events produced; each one is folded into `fingerprint`.
    public var eventCount: UInt64 { engine.eventCount }
    /// The rolling hash (`TraceHash`) over the canonical encoding of every trace event so far.
    public var fingerprint: TraceHash { engine.fingerprint }
    public var fingerprintHex: String { engine.fingerprint.hex }
    /// Called with every trace event, after it is hashed. Nil by default: nothing is retained.
    public var eventSink: ((TraceEntry<W>) -> Void)? {
        get { engine.eventSink }
        set { engine.eventSink = newValue }
    }

    public var nodeCount: Int { engine.slots.count }
    public func nodeID(named name: String) -> NodeID? { engine.nodeIDs[name] }
    public func name(of node: NodeID) -> String { engine.names[node.index] }
    public func status(of node: NodeID) -> NodeStatus { engine.slots[node.index].status }
    public func incarnation(of node: NodeID) -> UInt32 { engine.slots[node.index].incarnation }
    /// The live instance of a node (nil while it is down), for checkers and tests.
    public func process(of node: NodeID) -> (any SimProcess<W>)? { engine.slots[node.index].process }
    /// Queue events not yet processed.
    public var pendingCount: Int { engine.queue.count }
    /// Messages held by clogs.
    public var heldCount: Int { engine.heldMessages.count }

    /// Ends the current `run` after the event in progress; every later run returns `.stopped`.
    @inlinable public func requestStop() { stopFlag.pointee = true }

    /// Processes the next queue event. False when the queue is empty.
    @inlinable @discardableResult
    public func step() -> Bool { engine.step() }

    /// Applies one fault now, outside the timeline.
    @inlinable public func apply(_ action: FaultAction) { engine.apply(action) }
}

/// The simulator's state and event loop, as a value so that field accesses are checked
/// statically.
@usableFromInline
struct Engine<W: SimWorld> {
    @usableFromInline let seed: UInt64
    @usableFromInline let network: NetworkConfig
    @usableFromInline let names: [String]
    @usableFromInline let timeline: [FaultEntry]

    @usableFromInline var now: Instant = .zero
    @usableFromInline var stepCount: UInt64 = 0
    @usableFromInline var eventCount: UInt64 = 0
    @usableFromInline var fingerprint = TraceHash()
    @usableFromInline var eventSink: ((TraceEntry<W>) -> Void)?

    /// The event queue holds small, trivially copyable keys; the payloads live in a slab, so
    /// the queue moves 16-byte keys, never messages.
    @usableFromInline var queue = EventQueue()
    @usableFromInline var payloads = PayloadSlab<W>()
    @usableFromInline var nextSequence: UInt64 = 0
    @usableFromInline var nextMessageID: UInt64 = 0
    @usableFromInline var nextTimerGeneration: UInt64 = 0
    @usableFromInline let slots: NodeTable<W>
    @usableFromInline let factories: [(NodeBoot) -> any SimProcess<W>]
    @usableFromInline let nodeIDs: [String: NodeID]
    @usableFromInline var links: LinkTable
    @usableFromInline var netRandom: SimRandom
    /// The seed the random streams are drawn from: the run's, until a `reseed` branches it.
    @usableFromInline var streamSeed: UInt64
    @usableFromInline var cuts: CutTable
    @usableFromInline var heldMessages: [Delivery<W>] = []
    @usableFromInline var partitions: [(id: String, pairs: [(Int, Int)])] = []
    @usableFromInline var timelineCancelled = false
    @usableFromInline var effectBuffer: [Effect<W>] = []

    init(seed: UInt64, network: NetworkConfig, nodes: [NodeSpec<W>], faults: [FaultEntry]) throws {
        self.seed = seed
        self.network = network
        self.names = nodes.map(\.name)
        // The trace hash packs two node indices into one word (`TraceEvent.head`).
        guard nodes.count < 1 << 28 else { throw SimConfigError.invalid("at most \(1 << 28 - 1) nodes (got \(nodes.count))") }
        var ids: [String: NodeID] = [:]
        for (index, spec) in nodes.enumerated() {
            guard ids[spec.name] == nil else { throw SimConfigError.duplicateNode(spec.name) }
            ids[spec.name] = NodeID(index)
        }
        self.nodeIDs = ids
        try network.validate(names: names)
        for entry in faults {
            guard entry.at.nanoseconds >= 0 else {
                throw SimConfigError.invalid("fault '\(entry.action.summary)' is scheduled before time zero")
            }
            for name in entry.action.nodeNames where ids[name] == nil {
                throw SimConfigError.unknownNode(name, context: "fault '\(entry.action.summary)'")
            }
            switch entry.action {
            case .delayNode(_, let min, let max), .delayLink(_, _, let min, let max):
                guard min.nanoseconds >= 0, min <= max else {
                    throw SimConfigError.invalid("fault '\(entry.action.summary)': the delay must satisfy 0 <= min <= max")
                }
            default:
                break
            }
        }
        self.timeline = faults
        self.factories = nodes.map(\.make)
        self.slots = NodeTable(count: nodes.count)
        self.links = LinkTable(config: network, names: names)
        self.cuts = CutTable(nodeCount: nodes.count)
        self.netRandom = SimRandom(seed: seed, stream: .network)
        self.streamSeed = seed
        for (index, spec) in nodes.enumerated() {
            schedule(at: spec.startAt, .boot(node: index))
        }
        for index in faults.indices {
            schedule(at: faults[index].at, .fault(index: index))
        }
    }

    // MARK: The event loop

    @inlinable mutating func step() -> Bool {
        guard let next = queue.popMin() else { return false }
        process(next)
        return true
    }

    /// Carries out one event taken from the queue.
    @inlinable mutating func process(_ next: Scheduled) {
        precondition(next.time >= now, "time went backwards: event at \(next.time) after \(now)")
        now = next.time
        stepCount &+= 1
        let payload = payloads.take(next.slot)
        switch payload {
        case .deliver(let delivery):
            deliver(delivery)
        case .timer(let node, let incarnation, let generation, let timer):
            fireTimer(node: node, incarnation: incarnation, generation: generation, timer: timer)
        case .fault(let index):
            if !timelineCancelled { apply(timeline[index].action) }
        case .boot(let node):
            // A node revived by a heal before its scheduled start has started already.
            if slots[node].incarnation == 0 { boot(node) }
        }
    }

    @inlinable mutating func schedule(at time: Instant, _ payload: ScheduledPayload<W>) {
        let slot = payloads.store(payload)
        queue.insert(Scheduled(time: time, sequence: nextSequence, slot: slot))
        nextSequence &+= 1
    }

    @inline(__always)
    @inlinable mutating func record(_ event: TraceEvent<W>) {
        fingerprint.combine(now.nanoseconds)
        event.stableHash(into: &fingerprint)
        if let sink = eventSink {
            sink(TraceEntry(index: eventCount, time: now, event: event))
        }
        eventCount &+= 1
    }

    // MARK: Nodes

    @inlinable mutating func boot(_ index: Int) {
        precondition(slots[index].status == .down, "boot of node \(names[index]) which is \(slots[index].status)")
        slots[index].incarnation += 1
        let incarnation = slots[index].incarnation
        slots[index].status = .up
        slots[index].random = SimRandom(seed: streamSeed, stream: .node(names[index], incarnation: incarnation))
        let boot = NodeBoot(id: NodeID(index), name: names[index], incarnation: incarnation, nodeCount: slots.count)
        slots[index].process = factories[index](boot)
        record(.start(node: NodeID(index), incarnation: incarnation))
        invoke(index, .start)
    }

    @inlinable mutating func invoke(_ index: Int, _ input: ProcessInput<W>) {
        // The node table never moves, so its random stream can be lent to the handler.
        var context = ProcessContext<W>(
            now: now, node: NodeID(index), incarnation: slots[index].incarnation,
            random: slots.pointer(to: index, \.random), effects: effectBuffer)
        effectBuffer = []
        slots[index].process!.handle(input, context: &context)
        context.effects.drainInOrder { apply($0, from: index) }
        swap(&effectBuffer, &context.effects)
    }

    @inlinable mutating func apply(_ effect: Effect<W>, from index: Int) {
        switch effect {
        case .send(let to, let message):
            precondition(to.index >= 0 && to.index < slots.count, "node \(names[index]) sent to unknown node \(to)")
            let id = nextMessageID
            nextMessageID &+= 1
            record(.send(id: id, from: NodeID(index), to: to, message))
            transmit(id: id, from: index, to: to.index, message)
        case .setTimer(let timer, let delay):
            let generation = nextTimerGeneration
            nextTimerGeneration &+= 1
            slots[index].timers[timer] = generation
            schedule(at: now + delay, .timer(node: index, incarnation: slots[index].incarnation, generation: generation, timer))
        case .cancelTimer(let timer):
            slots[index].timers[timer] = nil
        case .observe(let observation):
            record(.observe(node: NodeID(index), observation))
        }
    }

    @inlinable mutating func fireTimer(node index: Int, incarnation: UInt32, generation: UInt64, timer: W.Timer) {
        // A timer of an earlier incarnation, or one re-armed or cancelled since, is stale.
        guard slots[index].incarnation == incarnation, slots[index].status != .down,
            slots[index].timers[timer] == generation
        else { return }
        if slots[index].status == .paused {
            slots[index].pausedInbox.append(.timer(node: index, incarnation: incarnation, generation: generation, timer))
            return
        }
        slots[index].timers[timer] = nil
        record(.timer(node: NodeID(index), timer))
        invoke(index, .timer(timer))
    }
}

/// A node's lifecycle state.
public enum NodeStatus: String, Sendable, Codable {
    case up
    case paused
    case down
}

@usableFromInline
struct NodeSlot<W: SimWorld> {
    @usableFromInline var status: NodeStatus = .down
    @usableFromInline var incarnation: UInt32 = 0
    /// Bumped at every crash; a message in flight carries the value at send time and is lost
    /// if the receiver crashed meanwhile.
    @usableFromInline var crashCount: UInt32 = 0
    /// Killed for good: no restart and no heal brings the node back.
    @usableFromInline var lost = false
    @usableFromInline var process: (any SimProcess<W>)?
    @usableFromInline var random = SimRandom(seed: 0)
    @usableFromInline var timers = TimerTable<W.Timer>()
    @usableFromInline var pausedInbox: Deque<ScheduledPayload<W>> = []
}

@usableFromInline
struct Delivery<W: SimWorld> {
    @usableFromInline let id: UInt64
    @usableFromInline let from: Int32
    @usableFromInline let to: Int32
    @usableFromInline let receiverCrashCount: UInt32
    @usableFromInline let message: W.Message

    @inlinable init(id: UInt64, from: Int32, to: Int32, receiverCrashCount: UInt32, message: W.Message) {
        self.id = id
        self.from = from
        self.to = to
        self.receiverCrashCount = receiverCrashCount
        self.message = message
    }
}

@usableFromInline
enum ScheduledPayload<W: SimWorld> {
    case deliver(Delivery<W>)
    case timer(node: Int, incarnation: UInt32, generation: UInt64, W.Timer)
    case fault(index: Int)
    case boot(node: Int)
}

/// A queue entry: ordered by (time, sequence); `slot` finds the payload.
///
/// The whole entry is one 128-bit key: time's bits (order-preserving) above the sequence
/// (40 bits) above the slot (24 bits). Comparing two entries is one wide unsigned comparison
/// without branches (the heap compares random latencies, and a branch on them mispredicts half
/// the time), the slot never decides an order (sequences are unique), and 16-byte entries keep
/// a queue of thousands of events in the first-level cache.
@usableFromInline
struct Scheduled: Comparable {
    @usableFromInline let key: UInt128

    @usableFromInline static let slotBits = 24
    @usableFromInline static let sequenceLimit: UInt64 = 1 << 40

    @inlinable init(key: UInt128) { self.key = key }

    @inlinable init(time: Instant, sequence: UInt64, slot: Int32) {
        precondition(sequence < Self.sequenceLimit && slot >= 0 && slot < 1 << Self.slotBits,
            "event queue limits exceeded: sequence \(sequence), slot \(slot)")
        key = UInt128(Self.ordered(time)) << 64 | UInt128(sequence << UInt64(Self.slotBits) | UInt64(slot))
    }

    /// A time's bits in an order that compares as unsigned: flipping the sign bit maps Int64's
    /// order onto UInt64's.
    @inlinable @inline(__always)
    static func ordered(_ time: Instant) -> UInt64 { UInt64(bitPattern: time.nanoseconds) ^ (1 << 63) }

    /// The time part of the key, as `ordered` made it.
    @inlinable var orderedTime: UInt64 { UInt64(truncatingIfNeeded: key >> 64) }

    @inlinable var time: Instant { Instant(nanoseconds: Int64(bitPattern: orderedTime ^ (1 << 63))) }
    @inlinable var sequence: UInt64 { UInt64(truncatingIfNeeded: key) >> UInt64(Self.slotBits) }
    @inlinable var slot: Int32 { Int32(truncatingIfNeeded: UInt64(truncatingIfNeeded: key) & (1 << UInt64(Self.slotBits) - 1)) }

    @inlinable static func < (lhs: Scheduled, rhs: Scheduled) -> Bool { lhs.key < rhs.key }

    @inlinable static func == (lhs: Scheduled, rhs: Scheduled) -> Bool { lhs.key == rhs.key }
}
