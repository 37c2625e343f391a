/// Latency of one link as an integer model: most messages take between `min` and `typical`;
/// with probability `tailChance` a message takes between `typical` and `tail`. Independent
/// draws per message reorder messages naturally.
public struct LatencyModel: Codable, Hashable, Sendable {
    public var min: Interval
    public var typical: Interval
    public var tail: Interval
    public var tailChance: Ratio

    public init(min: Interval, typical: Interval, tail: Interval, tailChance: Ratio) {
        self.min = min
        self.typical = typical
        self.tail = tail
        self.tailChance = tailChance
    }

    /// A LAN-like default: 1-5 ms, one message in fifty takes up to 50 ms.
    public static let lan = LatencyModel(
        min: .milliseconds(1), typical: .milliseconds(5), tail: .milliseconds(50), tailChance: .oneIn(50))

    public func validate() throws {
        guard min.nanoseconds >= 0, min <= typical, typical <= tail else {
            throw SimConfigError.invalid("latency must satisfy 0 <= min <= typical <= tail (got \(min), \(typical), \(tail))")
        }
    }

    @inlinable
    public func draw(_ random: inout SimRandom) -> Interval {
        if random.chance(tailChance) {
            return Interval(nanoseconds: random.int64(in: typical.nanoseconds...tail.nanoseconds))
        }
        return Interval(nanoseconds: random.int64(in: min.nanoseconds...typical.nanoseconds))
    }
}

/// How one directed link behaves.
public struct LinkConfig: Codable, Hashable, Sendable {
    public var latency: LatencyModel
    public var dropChance: Ratio
    public var duplicateChance: Ratio

    public init(latency: LatencyModel = .lan, dropChance: Ratio = .never, duplicateChance: Ratio = .never) {
        self.latency = latency
        self.dropChance = dropChance
        self.duplicateChance = duplicateChance
    }
}

/// A link behaviour for the messages from `from` to `to` (node names; `*` matches any node).
public struct LinkOverride: Codable, Hashable, Sendable {
    public var from: String
    public var to: String
    public var link: LinkConfig

    public init(from: String, to: String, link: LinkConfig) {
        self.from = from
        self.to = to
        self.link = link
    }
}

/// The whole network: a default link and ordered overrides (the last match wins).
public struct NetworkConfig: Codable, Hashable, Sendable {
    public var defaultLink: LinkConfig
    public var overrides: [LinkOverride]

    public init(defaultLink: LinkConfig = LinkConfig(), overrides: [LinkOverride] = []) {
        self.defaultLink = defaultLink
        self.overrides = overrides
    }

    func validate(names: [String]) throws {
        try defaultLink.latency.validate()
        let known = Set(names)
        for override in overrides {
            try override.link.latency.validate()
            for name in [override.from, override.to] where name != "*" && !known.contains(name) {
                throw SimConfigError.unknownNode(name, context: "network override")
            }
        }
    }
}

/// A configuration that cannot run: names the problem in one line.
public enum SimConfigError: Error, CustomStringConvertible, Equatable {
    case unknownNode(String, context: String)
    case duplicateNode(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unknownNode(let name, let context): "unknown node '\(name)' in \(context)"
        case .duplicateNode(let name): "node name '\(name)' is declared twice"
        case .invalid(let reason): reason
        }
    }
}
