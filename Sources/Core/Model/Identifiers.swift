@_exported import Determinism

/// A role's address: its node name (`gateway`, `store`, `region-1`, `proxy-1-2`, `llm-1`,
/// `client-3`). The simulator and the real shell map addresses to their transport.
public typealias Address = String

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
        self.init(proxy: String(text[..<hash]), incarnation: incarnation)
    }

    public var description: String { "\(proxy)#\(incarnation)" }
}
