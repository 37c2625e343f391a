import DequeModule

extension Engine {
    /// Applies one fault now. Faults are idempotent: crashing a crashed node does nothing but
    /// leave the event in the trace, which keeps hand-written timelines forgiving.
    @inlinable mutating func apply(_ action: FaultAction) {
        record(.fault(action))
        switch action {
        case .crash(let name), .powerLoss(let name):
            crash(index(name))
        case .restart(let name):
            let node = index(name)
            if hasCrashed(node), !slots[node].lost { boot(node) }
        case .kill(let name):
            let node = index(name)
            crash(node)
            slots[node].lost = true
        case .pause(let name):
            let node = index(name)
            if slots[node].status == .up { slots[node].status = .paused }
        case .resume(let name):
            resume(index(name))
        case .partition(let id, let from, let to, let oneWay):
            var pairs: [(Int, Int)] = []
            for a in from.map(index) {
                for b in to.map(index) where a != b {
                    pairs.append((a, b))
                    if !oneWay { pairs.append((b, a)) }
                }
            }
            for (a, b) in pairs { cuts.partitioned[a * cuts.nodeCount + b] += 1 }
            partitions.append((id: id, pairs: pairs))
        case .heal(let id):
            // Heals the oldest active partition with this id.
            if let position = partitions.firstIndex(where: { $0.id == id }) {
                for (a, b) in partitions[position].pairs { cuts.partitioned[a * cuts.nodeCount + b] -= 1 }
                partitions.remove(at: position)
            }
        case .clogNode(let name):
            cuts.cloggedNodes[index(name)] = true
            cuts.anyClog = true
        case .unclogNode(let name):
            cuts.cloggedNodes[index(name)] = false
            cuts.recomputeAnyClog()
            releaseUnclogged()
        case .clogLink(let from, let to):
            cuts.cloggedLinks[index(from) * cuts.nodeCount + index(to)] += 1
            cuts.anyClog = true
        case .unclogLink(let from, let to):
            let position = index(from) * cuts.nodeCount + index(to)
            if cuts.cloggedLinks[position] > 0 { cuts.cloggedLinks[position] -= 1 }
            cuts.recomputeAnyClog()
            releaseUnclogged()
        case .delayNode(let name, let min, let max):
            cuts.delayedSenders[index(name)] = DurationRange(min, Swift.max(min, max))
            cuts.anyDelay = true
        case .undelayNode(let name):
            cuts.delayedSenders[index(name)] = nil
            cuts.recomputeAnyDelay()
        case .delayLink(let from, let to, let min, let max):
            cuts.delayedLinks[index(from) * cuts.nodeCount + index(to)] = DurationRange(min, Swift.max(min, max))
            cuts.anyDelay = true
        case .undelayLink(let from, let to):
            cuts.delayedLinks[index(from) * cuts.nodeCount + index(to)] = nil
            cuts.recomputeAnyDelay()
        case .healAll:
            healEverything()
        case .reseed(let seed):
            reseed(seed)
        }
    }

    /// Every random stream of the run from `seed` on: the network's and each node's (for its
    /// current life; later lives take theirs from `seed` too).
    @usableFromInline mutating func reseed(_ seed: UInt64) {
        streamSeed = seed
        netRandom = SimRandom(seed: seed, stream: .network)
        for index in 0..<slots.count {
            slots[index].random = SimRandom(seed: seed, stream: .node(names[index], incarnation: slots[index].incarnation))
        }
    }

    @usableFromInline func index(_ name: String) -> Int {
        guard let id = nodeIDs[name] else {
            preconditionFailure("fault names unknown node '\(name)'; the initializer validates names")
        }
        return id.index
    }

    /// Down after a crash, as opposed to not started yet: only the former is restarted.
    @inlinable func hasCrashed(_ node: Int) -> Bool {
        slots[node].status == .down && slots[node].incarnation > 0
    }

    @inlinable mutating func crash(_ node: Int) {
        guard slots[node].status != .down else { return }
        slots[node].status = .down
        slots[node].process = nil
        slots[node].timers.removeAll()
        slots[node].pausedInbox.removeAll()
        slots[node].crashCount += 1
    }

    @inlinable mutating func resume(_ node: Int) {
        guard slots[node].status == .paused else { return }
        slots[node].status = .up
        // What waited while the process hung arrives now, in the order it arrived.
        let waiting = slots[node].pausedInbox
        slots[node].pausedInbox.removeAll()
        for payload in waiting {
            switch payload {
            case .deliver(let delivery):
                // It was held at the receiver, so it no longer needs the network; deliver directly.
                schedule(at: now, .deliver(delivery))
            default:
                schedule(at: now, payload)
            }
        }
    }

    @inlinable mutating func healEverything() {
        for position in cuts.partitioned.indices { cuts.partitioned[position] = 0 }
        partitions.removeAll()
        for position in cuts.cloggedLinks.indices { cuts.cloggedLinks[position] = 0 }
        for node in cuts.cloggedNodes.indices { cuts.cloggedNodes[node] = false }
        cuts.anyClog = false
        for node in cuts.delayedSenders.indices { cuts.delayedSenders[node] = nil }
        for link in cuts.delayedLinks.indices { cuts.delayedLinks[link] = nil }
        cuts.anyDelay = false
        releaseUnclogged()
        for node in slots.indices {
            switch slots[node].status {
            case .paused: resume(node)
            case .down: if hasCrashed(node), !slots[node].lost { boot(node) }
            case .up: break
            }
        }
    }
}
