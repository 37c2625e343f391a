import Core

/// 4. Once a node's result is applied, it never changes (also in the final database).
public struct ProgressImmutabilityChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.progressImmutability
    public private(set) var violations: [Violation] = []
    var results: [TaskID: [String: (String, ObservedEvent)]] = [:]

    public init() {}

    /// Progress writes the store refused because the node already had a different result (a
    /// late or zombie write): evidence that the store's conflicting-result path ran.
    var conflictingRefused = 0

    public mutating func observe(_ event: ObservedEvent) {
        if case .core(.write(let task, .progress(let node, let digest, _), _, _, .rejected)) = event.observation,
            let (first, _) = results[task]?[node], first != digest
        {
            conflictingRefused += 1
        }
        guard let write = AppliedWrite(event), case .progress(let node, let digest, _) = write.kind else { return }
        if let (first, where_) = results[write.task]?[node] {
            if first != digest {
                violations.append(Violation(
                    invariant: invariant, task: write.task, node: node, time: event.time,
                    detail: "result \(first) was replaced by \(digest)", events: [where_.summary, event.summary]))
            }
            return
        }
        results[write.task, default: [:]][node] = (digest, event)
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: Instant) {
        for (task, rows) in snapshot.progress.sorted(by: { $0.key < $1.key }) {
            for row in rows {
                let stored = FNV64.hex(FNV64.hash(row.result))
                if let (first, where_) = results[task]?[row.nodeID], first != stored {
                    violations.append(Violation(
                        invariant: invariant, task: task, node: row.nodeID, time: end,
                        detail: "the database holds result \(stored), but \(first) was applied", events: [where_.summary]))
                }
            }
        }
    }

    public var evidence: String {
        "\(results.values.map(\.count).reduce(0, +)) saved result(s), \(conflictingRefused) conflicting late write(s) refused"
    }
}

extension ProgressImmutabilityChecker: RegisteredChecker {
    public static let name = "progress immutability"
    public static let needsLiveness = false

    public init(context: CheckContext) { self.init() }
}
