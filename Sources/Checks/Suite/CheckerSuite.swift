import Core

/// Every invariant checker, fed together.
public struct CheckerSuite {
    /// Set once: the suite is built with its checkers (an observer on this array would run at
    /// every checker's every observation, and copy the array each time).
    public private(set) var checkers: [any InvariantChecker]
    /// The checkers that want the message traffic.
    private let messageObservers: [Int]
    /// Whether any checker wants the message traffic.
    public var observesMessages: Bool { !messageObservers.isEmpty }
    /// Whether the audit included the checkers that need a liveness phase.
    public private(set) var livenessAudited = true

    public init(context: CheckContext = CheckContext()) {
        let checkers: [any InvariantChecker] = Invariant.allCases.map { invariant in
            let checker = invariant.checker.init(context: context)
            precondition(checker.invariant == invariant, "the registry lists \(checker) under \(invariant)")
            return checker
        }
        self.checkers = checkers
        messageObservers = checkers.indices.filter { checkers[$0].observesMessages }
    }

    public mutating func observe(_ event: ObservedEvent) {
        for index in checkers.indices { checkers[index].observe(event) }
    }

    public mutating func observeMessage(_ event: MessageEvent) {
        for index in messageObservers { checkers[index].observeMessage(event) }
    }

    /// The final audit; `includeLiveness` is false when the run had no liveness phase, and the
    /// checkers that judge how a run ended are skipped.
    public mutating func audit(_ snapshot: StoreSnapshot, end: Instant, includeLiveness: Bool = true) {
        livenessAudited = includeLiveness
        for index in checkers.indices where includeLiveness || !checkers[index].invariant.needsLiveness {
            checkers[index].audit(snapshot, end: end)
        }
    }

    public var violations: [Violation] { checkers.flatMap(\.violations) }

    /// One verdict per checker, in invariant order.
    public var verdicts: [CheckVerdict] {
        checkers.map { checker in
            let ran = livenessAudited || !checker.invariant.needsLiveness
            let count = checker.violations.count
            return CheckVerdict(
                invariant: checker.invariant.rawValue, name: checker.invariant.name, passed: count == 0, violations: count,
                evidence: ran ? checker.evidence : "final audit skipped: the run had no liveness phase", ran: ran)
        }
    }
}
