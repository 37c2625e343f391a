import DequeModule

/// Link behaviour resolved into a dense table once, so a send costs one array read.
@usableFromInline
struct LinkTable {
    @usableFromInline let nodeCount: Int
    @usableFromInline var configs: [LinkConfig]
    @usableFromInline var index: [Int32]

    init(config: NetworkConfig, names: [String]) {
        nodeCount = names.count
        configs = [config.defaultLink] + config.overrides.map(\.link)
        index = Array(repeating: 0, count: names.count * names.count)
        for (number, override) in config.overrides.enumerated() {
            for from in names.indices where override.from == "*" || override.from == names[from] {
                for to in names.indices where override.to == "*" || override.to == names[to] {
                    index[from * names.count + to] = Int32(number + 1)
                }
            }
        }
    }

    @inline(__always)
    @inlinable func link(_ from: Int, _ to: Int) -> LinkConfig { configs[Int(index[from * nodeCount + to])] }
}

/// Which directed links are cut (partitions stack, so these are counts) or clogged.
@usableFromInline
struct CutTable {
    @usableFromInline let nodeCount: Int
    @usableFromInline var partitioned: [UInt16]
    @usableFromInline var cloggedLinks: [UInt16]
    @usableFromInline var cloggedNodes: [Bool]
    @usableFromInline var anyClog = false
    /// Extra delay drawn for every message a node sends while it is delayed (nil: none).
    @usableFromInline var delayedSenders: [DurationRange?]
    /// The same for one direction of one link.
    @usableFromInline var delayedLinks: [DurationRange?]
    @usableFromInline var anyDelay = false

    init(nodeCount: Int) {
        self.nodeCount = nodeCount
        partitioned = Array(repeating: 0, count: nodeCount * nodeCount)
        cloggedLinks = Array(repeating: 0, count: nodeCount * nodeCount)
        cloggedNodes = Array(repeating: false, count: nodeCount)
        delayedSenders = Array(repeating: nil, count: nodeCount)
        delayedLinks = Array(repeating: nil, count: nodeCount * nodeCount)
    }

    @inlinable mutating func recomputeAnyDelay() {
        anyDelay = delayedSenders.contains { $0 != nil } || delayedLinks.contains { $0 != nil }
    }

    @inline(__always)
    @inlinable func delay(_ from: Int, _ to: Int) -> DurationRange? { delayedSenders[from] ?? delayedLinks[from * nodeCount + to] }

    @inline(__always)
    @inlinable func isPartitioned(_ from: Int, _ to: Int) -> Bool { partitioned[from * nodeCount + to] > 0 }

    @inline(__always)
    @inlinable func isClogged(_ from: Int, _ to: Int) -> Bool {
        anyClog && (cloggedNodes[from] || cloggedNodes[to] || cloggedLinks[from * nodeCount + to] > 0)
    }

    @inlinable mutating func recomputeAnyClog() {
        anyClog = cloggedNodes.contains(true) || cloggedLinks.contains { $0 > 0 }
    }
}

extension Engine {
    /// Puts a message on the wire: partition check, loss, latency, duplication.
    @inlinable mutating func transmit(id: UInt64, from: Int, to: Int, _ message: W.Message) {
        if cuts.isPartitioned(from, to) {
            record(.drop(id: id, from: NodeID(from), to: NodeID(to), .partition))
            return
        }
        let link = links.link(from, to)
        if netRandom.chance(link.dropChance) {
            record(.drop(id: id, from: NodeID(from), to: NodeID(to), .loss))
            return
        }
        let crashCount = slots[to].crashCount
        // A delayed sender's messages take an extra random time each, so later ones overtake
        // earlier ones, and some land after the sender has crashed and restarted.
        var extra = Interval.zero
        if cuts.anyDelay, let range = cuts.delay(from, to) { extra = range.draw(&netRandom) }
        schedule(
            at: now + link.latency.draw(&netRandom) + extra,
            .deliver(Delivery(id: id, from: Int32(from), to: Int32(to), receiverCrashCount: crashCount, message: message)))
        if netRandom.chance(link.duplicateChance) {
            let copy = nextMessageID
            nextMessageID &+= 1
            record(.duplicate(id: id, copy: copy))
            schedule(
                at: now + link.latency.draw(&netRandom),
                .deliver(Delivery(id: copy, from: Int32(from), to: Int32(to), receiverCrashCount: crashCount, message: message)))
        }
    }

    /// A message reaches its receiver's side of the network.
    @inlinable mutating func deliver(_ delivery: Delivery<W>) {
        let fromIndex = Int(delivery.from)
        let toIndex = Int(delivery.to)
        let from = NodeID(fromIndex)
        let to = NodeID(toIndex)
        let status = slots[toIndex].status
        if status == .down || slots[toIndex].crashCount != delivery.receiverCrashCount {
            record(.drop(id: delivery.id, from: from, to: to, .receiverDown))
            return
        }
        // A partition that started while the message was in flight cuts it too.
        if cuts.isPartitioned(fromIndex, toIndex) {
            record(.drop(id: delivery.id, from: from, to: to, .partition))
            return
        }
        if cuts.isClogged(fromIndex, toIndex) {
            record(.hold(id: delivery.id, to: to, .clogged))
            heldMessages.append(delivery)
            return
        }
        if status == .paused {
            record(.hold(id: delivery.id, to: to, .paused))
            slots[toIndex].pausedInbox.append(.deliver(delivery))
            return
        }
        record(.deliver(id: delivery.id, from: from, to: to))
        invoke(toIndex, .message(from: from, delivery.message))
    }

    /// Releases the held messages whose link is no longer clogged, in the order they were held,
    /// each after the link's minimum latency, so a released link keeps its order.
    @inlinable mutating func releaseUnclogged() {
        guard !heldMessages.isEmpty else { return }
        var stillHeld: [Delivery<W>] = []
        for delivery in heldMessages {
            let from = Int(delivery.from)
            let to = Int(delivery.to)
            if cuts.isClogged(from, to) {
                stillHeld.append(delivery)
            } else {
                schedule(at: now + links.link(from, to).latency.min, .deliver(delivery))
            }
        }
        heldMessages = stillHeld
    }
}
