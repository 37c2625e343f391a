import Core

/// 9. What each client saw: every request it sent was answered (acknowledged or rejected), and
/// every acknowledged task's client saw its final status before the run ended: `completed`
/// with exactly the stored result, or `aborted` with exactly the stored reason. This is the
/// run's convergence, judged on what clients saw rather than on the database.
public struct ClientOutcomeChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.clientOutcome
    public private(set) var violations: [Violation] = []
    let context: CheckContext
    struct Request {
        var submitted: ObservedEvent
        var task: TaskID?
        var rejected = false
        var final: (TaskStatusView, ObservedEvent)?
        var lastSeen: TaskStatusView?
    }
    /// By client, then request id.
    var requests: [Address: [UInt64: Request]] = [:]
    /// By client, the request each acknowledged task belongs to.
    var taskRequests: [Address: [TaskID: UInt64]] = [:]
    var clientsDone: Set<Address> = []

    public init(context: CheckContext) { self.context = context }

    public mutating func observe(_ event: ObservedEvent) {
        guard case .client(let observation) = event.observation else { return }
        let client = event.node
        switch observation {
        case .submitted(let id, _):
            if requests[client]?[id] == nil { requests[client, default: [:]][id] = Request(submitted: event) }
        case .acknowledged(let id, let task):
            requests[client]?[id]?.task = task
            taskRequests[client, default: [:]][task] = id
        case .rejected(let id, _):
            requests[client]?[id]?.rejected = true
        case .status(let task, let status):
            guard let id = taskRequests[client]?[task] else { return }
            requests[client]?[id]?.lastSeen = status
            switch status {
            case .completed, .aborted:
                if requests[client]?[id]?.final == nil { requests[client]?[id]?.final = (status, event) }
            default: break
            }
        case .allSubmitted:
            clientsDone.insert(client)
        case .finished, .conflictingAck:
            break
        }
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: Instant) {
        let tasks = Dictionary(snapshot.tasks.map { ($0.taskID, $0) }, uniquingKeysWith: { first, _ in first })
        for client in context.clients where !clientsDone.contains(client) {
            violations.append(Violation(
                invariant: invariant, task: nil, node: nil, time: end, detail: "\(client) had not sent all of its requests when the run ended", events: []))
        }
        for client in requests.keys.sorted() {
            for (id, request) in requests[client]!.sorted(by: { $0.key < $1.key }) {
                guard let task = request.task else {
                    if !request.rejected {
                        violations.append(Violation(
                            invariant: invariant, task: nil, node: nil, time: end,
                            detail: "request \(id) of \(client) was never answered (neither acknowledged nor rejected)", events: [request.submitted.summary]))
                    }
                    continue
                }
                let stored = tasks[task].map { TaskStatusView($0) }
                guard let (seen, where_) = request.final else {
                    violations.append(Violation(
                        invariant: invariant, task: task, node: nil, time: end,
                        detail: "\(client) never saw its task finish: it last saw \(request.lastSeen?.name ?? "nothing"), the store says \(stored?.name ?? "no such task")",
                        events: [request.submitted.summary]))
                    continue
                }
                guard let stored else {
                    // Acknowledged means created durably: a store that no longer holds the task
                    // lost an acknowledged task (the sensitivity corpus's acknowledged-then-lost).
                    violations.append(Violation(
                        invariant: invariant, task: task, node: nil, time: end,
                        detail: "\(client) saw task \(task) \(Self.describe(seen)), but the store no longer holds the task", events: [where_.summary]))
                    continue
                }
                if seen != stored {
                    violations.append(Violation(
                        invariant: invariant, task: task, node: nil, time: where_.time,
                        detail: "\(client) saw \(Self.describe(seen)), but the store holds \(Self.describe(stored))", events: [where_.summary]))
                }
            }
        }
    }

    static func describe(_ status: TaskStatusView) -> String {
        switch status {
        case .completed(let result): "completed with result \(FNV64.hex(FNV64.hash(result)))"
        case .aborted(let reason): "aborted (\"\(reason)\")"
        default: status.name
        }
    }

    public var evidence: String {
        let all = requests.values.flatMap(\.values)
        return "\(all.count) request(s) from \(requests.count) client(s), \(all.filter { $0.final != nil }.count) seen final"
    }
}

extension ClientOutcomeChecker: RegisteredChecker {
    public static let name = "client outcome"
    public static let needsLiveness = true
}
