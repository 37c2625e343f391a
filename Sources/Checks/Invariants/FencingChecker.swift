import Core

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

extension FencingChecker: RegisteredChecker {
    public static let name = "fencing"
    public static let needsLiveness = false

    public init(context: CheckContext) { self.init() }
}
