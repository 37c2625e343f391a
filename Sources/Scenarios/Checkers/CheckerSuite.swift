import Core
import Sim

/// Every invariant checker, fed together.
public struct CheckerSuite {
    public var checkers: [any InvariantChecker]

    public init() {
        checkers = [
            EpochMonotonicityChecker(), FencingChecker(), UniqueOwnershipChecker(), ProgressImmutabilityChecker(),
            ProgressCorrectnessChecker(), ClientViewChecker(), LivenessChecker(),
        ]
    }

    public mutating func observe(_ event: ObservedEvent) {
        for index in checkers.indices { checkers[index].observe(event) }
    }

    /// The safety audit; `includeLiveness` is false when the run had no liveness phase.
    public mutating func audit(_ snapshot: StoreSnapshot, end: SimInstant, includeLiveness: Bool = true) {
        for index in checkers.indices where includeLiveness || checkers[index].invariant != .liveness {
            checkers[index].audit(snapshot, end: end)
        }
    }

    public var violations: [Violation] { checkers.flatMap(\.violations) }
}
