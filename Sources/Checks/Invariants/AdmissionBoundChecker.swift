import Core

/// 15. The cluster holds no more unfinished tasks than its admission limit, `openTasksMax`,
/// beyond a slack the history names: one task per create whose answer the gateway never saw
/// (the store did not answer in time, or the gateway died first). Such a create may still make
/// a task the gateway does not count until its next sweep reads the store, and only such a
/// create can. Judged at every new task the store makes.
public struct AdmissionBoundChecker: InvariantChecker {
    public var observesMessages: Bool { false }
    public let invariant = Invariant.admissionBound
    public private(set) var violations: [Violation] = []
    let openTasksMax: Int
    var unfinished: Set<TaskID> = []
    var admitting = AdmissionsInFlight()
    /// Creates whose answer the gateway never saw, by key.
    var orphans: Set<String> = []
    var created = 0
    var peak = 0

    public init(openTasksMax: Int = GatewaySettings(regions: ["r"]).openTasksMax) { self.openTasksMax = openTasksMax }

    public mutating func observe(_ event: ObservedEvent) {
        switch event.observation {
        case .core(.createAdmitted):
            orphans.formUnion(admitting.observe(event.observation))
        case .core(.createEnded(let key, _, let answered)):
            orphans.formUnion(admitting.observe(event.observation))
            if !answered { orphans.insert(key) }
        case .core(.write(let task, .finish, _, _, .applied)), .core(.write(let task, .abort, _, _, .applied)):
            unfinished.remove(task)
        case .core(.taskCreated(let task, _, .new)):
            created += 1
            unfinished.insert(task)
            peak = max(peak, unfinished.count)
            let slack = orphans.count
            guard unfinished.count > openTasksMax + slack else { return }
            violations.append(Violation(
                invariant: invariant, task: task, node: event.node.name, time: event.time,
                detail: "task \(task) made \(unfinished.count) unfinished task(s), over the admission limit of \(openTasksMax) plus \(slack) create(s) the gateway never saw answered",
                events: [event.summary]))
        default:
            break
        }
    }

    public var evidence: String { "\(created) task(s) created, at most \(peak) unfinished at once; limit \(openTasksMax), slack \(orphans.count)" }
}

extension AdmissionBoundChecker: RegisteredChecker {
    public static let name = "admission bound"
    public static let needsLiveness = false

    public init(context: CheckContext) { self.init(openTasksMax: context.openTasksMax) }
}
