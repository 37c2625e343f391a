/// The ownership fence of a task: `global` says which region owns it, `regional` which proxy
/// within that region. Ordered lexicographically (design section 5, which fixes the seed
/// README's typo): `(g2, r2) > (g1, r1)` iff `g2 > g1`, or `g2 == g1` and `r2 > r1`.
public struct Epoch: Comparable, Hashable, Codable, Sendable, CustomStringConvertible {
    public var global: Int64
    public var regional: Int64

    public init(global: Int64, regional: Int64) {
        precondition(global >= 0 && regional >= 0, "epochs are never negative: (\(global), \(regional))")
        self.global = global
        self.regional = regional
    }

    /// A task's epoch before anybody owns it.
    public static let initial = Epoch(global: 0, regional: 0)

    public static func < (lhs: Epoch, rhs: Epoch) -> Bool {
        lhs.global != rhs.global ? lhs.global < rhs.global : lhs.regional < rhs.regional
    }

    /// The claim with which the gateway moves a task to a (new) region: `(g+1, 0)`.
    public var nextRegionClaim: Epoch { Epoch(global: global + 1, regional: 0) }

    /// The claim with which a region hands a task to a (new) proxy: `(g, r+1)`.
    public var nextProxyClaim: Epoch { Epoch(global: global, regional: regional + 1) }

    public var description: String { "(\(global),\(regional))" }
}

/// How the store judges a write against a task's current epoch.
public enum EpochVerdict: String, Codable, Sendable, Equatable {
    case applied
    /// The write carried an epoch the task has moved past (or, for a claim, not beyond it).
    case stale
}

public enum EpochRules {
    /// A claim (ownership change) must be strictly greater than the stored epoch.
    public static func judgeClaim(_ claim: Epoch, current: Epoch) -> EpochVerdict {
        claim > current ? .applied : .stale
    }

    /// An owner's data write must carry exactly the task's current epoch.
    public static func judgeDataWrite(_ epoch: Epoch, current: Epoch) -> EpochVerdict {
        epoch == current ? .applied : .stale
    }
}
