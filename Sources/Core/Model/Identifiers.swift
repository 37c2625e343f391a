@_exported import Determinism

/// A role's identity in messages, effects and the cluster description: its node name
/// (`gateway`, `store`, `region-1`, `proxy-1-2`, `llm-1`, `client-3`, or a real shell's
/// `client-api-7`). On the wire, in traces and as a JSON object key it is that bare string, so
/// the formats read as they did when addresses were strings; in code it is this type, made from
/// a `Role` (`.gateway`, `.proxy(region: 1, index: 2)`) rather than spelled, and asked for its
/// `role` rather than cut at its dashes. The simulator and the real shell map it to their
/// transport.
public struct Address: Hashable, Comparable, Sendable, Codable, CodingKeyRepresentable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let name: String

    public init(_ name: String) { self.name = name }
    public init(_ role: Role) { name = role.name }
    public init(stringLiteral name: String) { self.name = name }

    /// The role the address names; nil for a name outside the cluster's roles (a real shell's
    /// API client, a test's stand-in).
    public var role: Role? { Role(self) }

    public static let store = Address(Role.store)
    public static let gateway = Address(Role.gateway)
    public static func region(_ region: Int) -> Address { Address(Role.region(region)) }
    public static func proxy(region: Int, index: Int) -> Address { Address(Role.proxy(region: region, index: index)) }
    public static func llm(_ index: Int) -> Address { Address(Role.llm(index)) }
    public static func client(_ index: Int) -> Address { Address(Role.client(index)) }

    public var description: String { name }
    public static func < (lhs: Address, rhs: Address) -> Bool { lhs.name < rhs.name }

    public init(from decoder: Decoder) throws { name = try decoder.singleValueContainer().decode(String.self) }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    public var codingKey: any CodingKey { name.codingKey }
    public init?<T: CodingKey>(codingKey: T) { name = codingKey.stringValue }
}

// An address feeds its name: the words it fed when addresses were strings.
extension TraceHash {
    @inlinable @inline(__always)
    public mutating func combine(_ address: Address) { combine(address.name) }
}

extension FNV64 {
    @inlinable @inline(__always)
    public mutating func combine(_ address: Address) { combine(address.name) }
}

/// A task's id, as the store assigns it.
public typealias TaskID = Int64

/// A task owner: one life of one proxy. A claim names one, so a restarted proxy (a new
/// incarnation) never acts on a claim made for its previous life. The store's owner column
/// holds it as `proxy#incarnation`, the seed's text form; everywhere else it is this type.
public struct Owner: Hashable, Codable, Sendable, CustomStringConvertible {
    public var proxy: Address
    public var incarnation: UInt32

    public init(proxy: Address, incarnation: UInt32) {
        self.proxy = proxy
        self.incarnation = incarnation
    }

    /// `proxy-1-2#3`; nil for anything else (an empty column: no proxy owns the task).
    public init?(_ text: String) {
        guard let hash = text.lastIndex(of: "#"), hash != text.startIndex, let incarnation = UInt32(text[text.index(after: hash)...]) else {
            return nil
        }
        self.init(proxy: Address(String(text[..<hash])), incarnation: incarnation)
    }

    public var description: String { "\(proxy)#\(incarnation)" }
}

/// What a role is, typed: the one place addresses are named and parsed. On the wire and in
/// traces a role is its `address` (`proxy-1-2`); code that needs to know a role's kind or place
/// asks `Role(address)` instead of looking at prefixes.
public enum Role: Hashable, Sendable, CustomStringConvertible {
    case store
    case gateway
    case region(Int)
    case proxy(region: Int, index: Int)
    case llm(Int)
    case client(Int)

    public var address: Address { Address(self) }

    /// The role's node name.
    public var name: String {
        switch self {
        case .store: "store"
        case .gateway: "gateway"
        case .region(let region): "region-\(region)"
        case .proxy(let region, let index): "proxy-\(region)-\(index)"
        case .llm(let index): "llm-\(index)"
        case .client(let index): "client-\(index)"
        }
    }

    public var description: String { name }

    /// The role an address names; nil for anything else.
    public init?(_ address: Address) { self.init(name: address.name) }

    /// The role a node name names; nil for anything else.
    public init?(name: String) {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        let numbers = parts.dropFirst().map { Int($0) }
        guard numbers.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        switch (parts.first, numbers.count) {
        case ("store", 0): self = .store
        case ("gateway", 0): self = .gateway
        case ("region", 1): self = .region(numbers[0]!)
        case ("proxy", 2): self = .proxy(region: numbers[0]!, index: numbers[1]!)
        case ("llm", 1): self = .llm(numbers[0]!)
        case ("client", 1): self = .client(numbers[0]!)
        default: return nil
        }
    }
}

/// The order of a role's lives. The simulator numbers them 1, 2, 3, ...; the real shell stamps
/// each start with the time in hundredths of a second truncated to 32 bits, which wraps every
/// 497 days. Serial-number order (RFC 1982) is right across the wrap for lives less than 248
/// days apart, and is plain `<` on the simulator's small numbers.
public enum Incarnation {
    /// Whether life `a` started before life `b`.
    public static func precedes(_ a: UInt32, _ b: UInt32) -> Bool {
        a != b && Int32(bitPattern: b &- a) > 0
    }
}
