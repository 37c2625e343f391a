import Core
import Foundation

/// 7. After the faults heal, every acknowledged task completes, or is aborted with a stated
/// reason, within the liveness budget.
public struct LivenessChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.liveness
    public private(set) var violations: [Violation] = []
    var acknowledged: [TaskID: ObservedEvent] = [:]

    public init() {}

    public mutating func observe(_ event: ObservedEvent) {
        if case .core(.taskAcknowledged(let task)) = event.observation, acknowledged[task] == nil {
            acknowledged[task] = event
        }
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: Instant) {
        let byID = Dictionary(uniqueKeysWithValues: snapshot.tasks.map { ($0.taskID, $0) })
        for (task, where_) in acknowledged.sorted(by: { $0.key < $1.key }) {
            guard let record = byID[task] else {
                violations.append(Violation(
                    invariant: invariant, task: task, node: nil, time: end, detail: "an acknowledged task is missing from the database",
                    events: [where_.summary]))
                continue
            }
            switch record.status {
            case .completed: break
            case .aborted where !(record.reason ?? "").isEmpty: break
            case .aborted:
                violations.append(Violation(invariant: invariant, task: task, node: nil, time: end, detail: "aborted without a reason", events: [where_.summary]))
            case .pending, .running:
                violations.append(Violation(
                    invariant: invariant, task: task, node: nil, time: end,
                    detail: "still \(record.status.rawValue) at the end of the liveness phase (epoch \(record.epoch), owner '\(record.ownerRegion)/\(record.ownerProxy)')",
                    events: [where_.summary]))
            }
        }
    }

    public var evidence: String { "\(acknowledged.count) acknowledged task(s)" }
}

extension LivenessChecker: RegisteredChecker {
    public static let name = "liveness"
    public static let needsLiveness = true

    public init(context: CheckContext) { self.init() }
}
