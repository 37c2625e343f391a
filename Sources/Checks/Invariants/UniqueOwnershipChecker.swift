import Core

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

extension UniqueOwnershipChecker: RegisteredChecker {
    public static let name = "unique ownership"
    public static let needsLiveness = false

    public init(context: CheckContext) { self.init() }
}
