import Core

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

extension EpochMonotonicityChecker: RegisteredChecker {
    public static let name = "epoch monotonicity"
    public static let needsLiveness = false

    public init(context: CheckContext) { self.init() }
}
