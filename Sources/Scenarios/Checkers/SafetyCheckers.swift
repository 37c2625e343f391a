import Core
import Sim

/// The store's applied write verdicts, unpacked.
struct AppliedWrite {
    var task: TaskID
    var kind: WriteKind
    var epoch: Epoch
    var before: Epoch?
    var repeated: Bool

    init?(_ event: ObservedEvent) {
        guard case .core(.write(let task, let kind, let epoch, let before, .applied(_, let repeated))) = event.observation else { return nil }
        (self.task, self.kind, self.epoch, self.before, self.repeated) = (task, kind, epoch, before, repeated)
    }

    /// Claims and gateway aborts change the task's epoch.
    var isClaim: Bool {
        switch kind {
        case .claim, .abort: true
        case .progress, .finish: false
        }
    }
}

/// 1. Each applied claim strictly raises the task's epoch; progress epochs never go down.
public struct EpochMonotonicityChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.epochMonotonicity
    public private(set) var violations: [Violation] = []
    var claimed: [TaskID: (Epoch, ObservedEvent)] = [:]
    var progressEpoch: [TaskID: (Epoch, ObservedEvent)] = [:]

    public init() {}

    public mutating func observe(_ event: ObservedEvent) {
        guard let write = AppliedWrite(event), !write.repeated else { return }
        if write.isClaim {
            if let (last, where_) = claimed[write.task], write.epoch <= last {
                violations.append(Violation(
                    invariant: invariant, task: write.task, node: nil, time: event.time,
                    detail: "claim \(write.epoch) applied after claim \(last): the epoch did not rise", events: [where_.summary, event.summary]))
            } else if let before = write.before, write.epoch <= before {
                violations.append(Violation(
                    invariant: invariant, task: write.task, node: nil, time: event.time,
                    detail: "claim \(write.epoch) applied over stored epoch \(before)", events: [event.summary]))
            }
            claimed[write.task] = (write.epoch, event)
        } else if case .progress = write.kind {
            if let (last, where_) = progressEpoch[write.task], write.epoch < last {
                violations.append(Violation(
                    invariant: invariant, task: write.task, node: nil, time: event.time,
                    detail: "progress written at \(write.epoch) after progress at \(last)", events: [where_.summary, event.summary]))
            }
            progressEpoch[write.task] = (write.epoch, event)
        }
    }

    public var evidence: String { "\(claimed.count) task(s) with claims" }
}

/// 2. Every applied data write carried the task's current epoch at the moment it applied.
public struct FencingChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.fencing
    public private(set) var violations: [Violation] = []
    var current: [TaskID: (Epoch, ObservedEvent)] = [:]

    public init() {}

    public mutating func observe(_ event: ObservedEvent) {
        guard let write = AppliedWrite(event) else { return }
        if write.isClaim {
            current[write.task] = (write.epoch, event)
            return
        }
        let (epoch, claim) = current[write.task] ?? (.initial, nil)
        guard write.epoch != epoch, !write.repeated else { return }
        var node: String?
        if case .progress(let id, _, _) = write.kind { node = id }
        violations.append(Violation(
            invariant: invariant, task: write.task, node: node, time: event.time,
            detail: "a data write at \(write.epoch) was applied while the task's epoch was \(epoch): its writer was fenced",
            events: [claim?.summary ?? "(no claim)", event.summary]))
    }

    public var evidence: String { "\(current.count) task(s) with claims" }
}

/// 3. Each epoch of a task is claimed once, by one owner.
public struct UniqueOwnershipChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.uniqueOwnership
    public private(set) var violations: [Violation] = []
    var owners: [TaskID: [Epoch: (String, ObservedEvent)]] = [:]

    public init() {}

    /// Claims the store refused because another claimer got there first: lost races.
    var racesLost = 0

    public mutating func observe(_ event: ObservedEvent) {
        if case .core(.write(_, .claim, _, _, .rejected(_, .notNewer))) = event.observation { racesLost += 1 }
        guard let write = AppliedWrite(event), case .claim(let region, let claimed) = write.kind else { return }
        let owner = "\(region)/\(claimed?.description ?? "")"
        if let (existing, where_) = owners[write.task]?[write.epoch] {
            if existing != owner || !write.repeated {
                violations.append(Violation(
                    invariant: invariant, task: write.task, node: nil, time: event.time,
                    detail: "epoch \(write.epoch) claimed by \(existing) and again by \(owner)", events: [where_.summary, event.summary]))
            }
            return
        }
        owners[write.task, default: [:]][write.epoch] = (owner, event)
    }

    public var evidence: String { "\(owners.values.map(\.count).reduce(0, +)) epoch(s) claimed, \(racesLost) claim race(s) lost" }
}

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

    public mutating func audit(_ snapshot: StoreSnapshot, end: SimInstant) {
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
