/// An inclusive range of virtual durations (the one range type of `Determinism`).
public typealias DurationRange = DrawRange<Interval>

extension Interval: Int64Backed {
    @inlinable public init(int64: Int64) { self.init(nanoseconds: int64) }
    @inlinable public var int64: Int64 { nanoseconds }
}

extension DrawRange where Value == Interval {
    func validate(_ what: String) throws {
        if let problem { throw SimConfigError.invalid("\(what): \(problem)") }
    }
}

/// One kind of fault injected at random: how often (the gap between two injections) and for how
/// long each lasts. Absent kinds are off.
public struct FaultRate: Codable, Hashable, Sendable {
    public var every: DurationRange
    public var lasting: DurationRange

    public init(every: DurationRange, lasting: DurationRange) {
        self.every = every
        self.lasting = lasting
    }
}

/// Which faults a seed-generated timeline contains, FoundationDB-style: each kind on its own
/// schedule, composable, any of them off.
public struct FaultMix: Codable, Hashable, Sendable {
    public var crash: FaultRate?
    public var pause: FaultRate?
    public var partition: FaultRate?
    /// Of the partitions, how many are one-way.
    public var oneWayPartitionChance: Ratio
    public var clog: FaultRate?
    /// Spells during which one node's outgoing messages are each delayed by `delayExtra`.
    public var delay: FaultRate?
    public var delayExtra: DurationRange
    /// When set, a delay spell slows only the chosen node's messages to these nodes (say, an
    /// owner's writes to the store) rather than everything it sends.
    public var delayTo: [String]
    /// Power losses (a crash whose disk keeps only what was synced), each undone by a restart.
    public var powerLoss: FaultRate?

    public init(
        crash: FaultRate? = nil, pause: FaultRate? = nil, partition: FaultRate? = nil,
        oneWayPartitionChance: Ratio = .oneIn(4), clog: FaultRate? = nil, delay: FaultRate? = nil,
        delayExtra: DurationRange = DurationRange(.seconds(1), .seconds(20)), delayTo: [String] = [], powerLoss: FaultRate? = nil
    ) {
        self.crash = crash
        self.pause = pause
        self.partition = partition
        self.oneWayPartitionChance = oneWayPartitionChance
        self.clog = clog
        self.delay = delay
        self.delayExtra = delayExtra
        self.delayTo = delayTo
        self.powerLoss = powerLoss
    }

    enum CodingKeys: String, CodingKey {
        case crash, pause, partition, oneWayPartitionChance, clog, delay, delayExtra, delayTo, powerLoss
    }

    /// Fields added later (`delay`, `delayExtra`) may be absent, so older scenario files and
    /// traces still read.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        crash = try container.decodeIfPresent(FaultRate.self, forKey: .crash)
        pause = try container.decodeIfPresent(FaultRate.self, forKey: .pause)
        partition = try container.decodeIfPresent(FaultRate.self, forKey: .partition)
        oneWayPartitionChance = try container.decode(Ratio.self, forKey: .oneWayPartitionChance)
        clog = try container.decodeIfPresent(FaultRate.self, forKey: .clog)
        delay = try container.decodeIfPresent(FaultRate.self, forKey: .delay)
        delayExtra = try container.decodeIfPresent(DurationRange.self, forKey: .delayExtra) ?? DurationRange(.seconds(1), .seconds(20))
        delayTo = try container.decodeIfPresent([String].self, forKey: .delayTo) ?? []
        powerLoss = try container.decodeIfPresent(FaultRate.self, forKey: .powerLoss)
    }

    public static let none = FaultMix()

    public var isEmpty: Bool { crash == nil && pause == nil && partition == nil && clog == nil && delay == nil && powerLoss == nil }

    public func validate() throws {
        try delayExtra.validate("delayExtra")
        for (name, rate) in [("crash", crash), ("pause", pause), ("partition", partition), ("clog", clog), ("delay", delay), ("powerLoss", powerLoss)] {
            guard let rate else { continue }
            try rate.every.validate("\(name).every")
            try rate.lasting.validate("\(name).lasting")
            guard rate.every.min.nanoseconds > 0 else {
                throw SimConfigError.invalid("\(name).every must be positive (got \(rate.every))")
            }
        }
    }
}

/// Draws a fault timeline from a seed. Each fault is paired with its undo (restart, resume,
/// heal, unclog), so every generated fault ends inside the window.
public enum FaultPlanner {
    public static func plan(
        mix: FaultMix, nodes: [String], from start: Instant, until end: Instant, random: inout SimRandom
    ) -> [FaultEntry] {
        sortedStable(episodes(mix: mix, nodes: nodes, from: start, until: end, random: &random).flatMap { [$0.fault, $0.undo] })
    }

    /// The same draws as `plan`, as episodes: each fault with its undo, in the order drawn. A
    /// branch that draws its faults afresh (`Recipe`) keeps the episodes begun before it whole.
    public static func episodes(
        mix: FaultMix, nodes: [String], from start: Instant, until end: Instant, random: inout SimRandom
    ) -> [(fault: FaultEntry, undo: FaultEntry)] {
        guard !nodes.isEmpty, start < end else { return [] }
        var entries: [FaultEntry] = []
        if let rate = mix.crash {
            for (at, undo) in arrivals(rate, start, end, &random) {
                let node = random.element(of: nodes)!
                entries.append(FaultEntry(at: at, action: .crash(node: node)))
                entries.append(FaultEntry(at: undo, action: .restart(node: node)))
            }
        }
        if let rate = mix.pause {
            for (at, undo) in arrivals(rate, start, end, &random) {
                let node = random.element(of: nodes)!
                entries.append(FaultEntry(at: at, action: .pause(node: node)))
                entries.append(FaultEntry(at: undo, action: .resume(node: node)))
            }
        }
        if let rate = mix.partition, nodes.count > 1 {
            for (number, (at, undo)) in arrivals(rate, start, end, &random).enumerated() {
                var shuffled = nodes
                random.permute(&shuffled)
                let cut = random.int(in: 1...(shuffled.count - 1))
                let id = "p\(number + 1)"
                let oneWay = random.chance(mix.oneWayPartitionChance)
                let action = FaultAction.partition(
                    id: id, from: Array(shuffled[..<cut]).sorted(), to: Array(shuffled[cut...]).sorted(), oneWay: oneWay)
                entries.append(FaultEntry(at: at, action: action))
                entries.append(FaultEntry(at: undo, action: .heal(id: id)))
            }
        }
        if let rate = mix.clog {
            for (at, undo) in arrivals(rate, start, end, &random) {
                if nodes.count > 1, random.chance(.oneIn(2)) {
                    var pair = nodes
                    random.permute(&pair)
                    entries.append(FaultEntry(at: at, action: .clogLink(from: pair[0], to: pair[1])))
                    entries.append(FaultEntry(at: undo, action: .unclogLink(from: pair[0], to: pair[1])))
                } else {
                    let node = random.element(of: nodes)!
                    entries.append(FaultEntry(at: at, action: .clogNode(node: node)))
                    entries.append(FaultEntry(at: undo, action: .unclogNode(node: node)))
                }
            }
        }
        if let rate = mix.powerLoss {
            for (at, undo) in arrivals(rate, start, end, &random) {
                let node = random.element(of: nodes)!
                entries.append(FaultEntry(at: at, action: .powerLoss(node: node)))
                entries.append(FaultEntry(at: undo, action: .restart(node: node)))
            }
        }
        if let rate = mix.delay {
            for (at, undo) in arrivals(rate, start, end, &random) {
                let node = random.element(of: nodes)!
                let (low, high) = (mix.delayExtra.min, mix.delayExtra.max)
                if mix.delayTo.isEmpty {
                    entries.append(FaultEntry(at: at, action: .delayNode(node: node, min: low, max: high)))
                    entries.append(FaultEntry(at: undo, action: .undelayNode(node: node)))
                } else {
                    for to in mix.delayTo where to != node {
                        entries.append(FaultEntry(at: at, action: .delayLink(from: node, to: to, min: low, max: high)))
                        entries.append(FaultEntry(at: undo, action: .undelayLink(from: node, to: to)))
                    }
                }
            }
        }
        // Every fault above was appended right before its undo.
        return stride(from: 0, to: entries.count, by: 2).map { (entries[$0], entries[$0 + 1]) }
    }

    /// Sorts by time, ties kept in generation order (`sort` alone is not guaranteed stable).
    public static func sortedStable(_ entries: [FaultEntry]) -> [FaultEntry] {
        entries.enumerated()
            .sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
            .map(\.element)
    }

    private static func arrivals(
        _ rate: FaultRate, _ start: Instant, _ end: Instant, _ random: inout SimRandom
    ) -> [(Instant, Instant)] {
        var result: [(Instant, Instant)] = []
        var t = start + rate.every.draw(&random)
        while t < end {
            var undo = t + rate.lasting.draw(&random)
            if undo >= end { undo = end }
            result.append((t, undo))
            t = t + rate.every.draw(&random)
        }
        return result
    }
}
