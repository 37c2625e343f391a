import Core
import Sim

/// 8. An abort is a success only when the run made completion impossible, and the trace shows
/// why: a stored task that does not parse, an LLM whose malformed answers (as the endpoint
/// itself drew them) won every attempt of a round, an LLM that refused the node's calls, an LLM
/// or every region unavailable for the roles' whole budget while the faults were on (or for
/// good). Any other abort is a user-visible failure of recovery.
public struct JustifiedAbortChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.justifiedAborts
    public private(set) var violations: [Violation] = []
    let context: CheckContext
    var aborts: [(task: TaskID, cause: AbortCause, event: ObservedEvent)] = []
    /// Answers the LLM sent with a content fault, by task and node (their digests).
    var malformed: [TaskID: [String: Set<String>]] = [:]
    /// Non-retryable statuses the LLM answered, by task and node.
    var refusals: [TaskID: [String: Set<Int>]] = [:]

    static let contentFaults: Set<String> = Set(["missing_plan", "missing_output", "wrong_case", "truncated", "empty", "garbage"])

    public init(context: CheckContext) { self.context = context }

    public mutating func observe(_ event: ObservedEvent) {
        switch event.observation {
        case .core(.write(let task, .abort(let cause), _, _, .applied(_, false))),
            .core(.write(let task, .finish(.aborted, _, let cause?), _, _, .applied(_, false))):
            aborts.append((task, cause, event))
        case .llm(let call):
            if let answer = call.answerDigest, let fault = call.fault, Self.contentFaults.contains(fault) {
                malformed[call.task, default: [:]][call.node, default: []].insert(answer)
            }
            if (400..<500).contains(call.status), call.status != 429 { refusals[call.task, default: [:]][call.node, default: []].insert(call.status) }
        default:
            break
        }
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: SimInstant) {
        let tasks = Dictionary(snapshot.tasks.map { ($0.taskID, $0) }, uniquingKeysWith: { first, _ in first })
        for (task, cause, event) in aborts {
            guard let why = unjustified(task: task, cause: cause, at: event.time, record: tasks[task]) else { continue }
            violations.append(Violation(
                invariant: invariant, task: task, node: Self.node(of: cause), time: event.time,
                detail: "aborted as \(cause.kind) (\"\(cause.reason)\"), but \(why)", events: [event.summary]))
        }
    }

    /// Why the abort was not justified, or nil when it was.
    func unjustified(task: TaskID, cause: AbortCause, at time: SimInstant, record: TaskRecord?) -> String? {
        let inFaults = time <= context.healAt
        switch cause {
        case .invalidTask:
            guard let record, record.plan != nil else { return nil }
            return "the stored task parses"
        case .malformedAnswers(let node, _, let winners):
            if winners.count < context.roundAttemptsMin {
                return "it gave up after \(winners.count) attempt(s) of the round; the system retries a round \(context.roundAttemptsMin) times"
            }
            let sent = malformed[task]?[node] ?? []
            let unexplained = winners.filter { !sent.contains($0) }
            guard !unexplained.isEmpty else { return nil }
            return "the LLM sent no malformed answer with digest \(unexplained.joined(separator: ", ")) for that node (it sent \(sent.count) malformed answer(s))"
        case .llmRejected(let node, let status, _):
            guard !(refusals[task]?[node]?.contains(status) ?? false) else { return nil }
            return "the LLM never refused that node's calls with HTTP \(status)"
        case .llmUnavailable(_, let since, _):
            if !context.llmsAnswerAfterHeal { return nil }
            if time.nanoseconds - since < context.llmUnavailableAfter {
                return "its calls had failed for \((time.nanoseconds - since) / Time.millisecond) ms, less than the \(context.llmUnavailableAfter / Time.millisecond) ms budget"
            }
            return inFaults ? nil : "the LLMs answer after the heal at \(context.healAt), and the abort came later"
        case .noRegion(let since):
            if !context.regionServesAfterHeal { return nil }
            if time.nanoseconds - since < context.noRegionAfter {
                return "no region had been live for only \((time.nanoseconds - since) / Time.millisecond) ms, less than the \(context.noRegionAfter / Time.millisecond) ms budget"
            }
            return inFaults ? nil : "regions serve after the heal at \(context.healAt), and the abort came later"
        }
    }

    static func node(of cause: AbortCause) -> String? {
        switch cause {
        case .malformedAnswers(let node, _, _), .llmRejected(let node, _, _), .llmUnavailable(let node, _, _): node
        case .invalidTask, .noRegion: nil
        }
    }

    public var evidence: String {
        let kinds = Dictionary(grouping: aborts.map(\.cause.kind), by: { $0 }).map { "\($0.value.count) \($0.key)" }.sorted()
        return aborts.isEmpty ? "no aborts" : "\(aborts.count) abort(s) judged: \(kinds.joined(separator: ", "))"
    }
}

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
    var requests: [String: [UInt64: Request]] = [:]
    /// By client, the request each acknowledged task belongs to.
    var taskRequests: [String: [TaskID: UInt64]] = [:]
    var clientsDone: Set<String> = []

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

    public mutating func audit(_ snapshot: StoreSnapshot, end: SimInstant) {
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
                if let stored, seen != stored {
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

/// 10. Every client request (its client and request id) maps to exactly one task, across
/// client retries, network duplicates, gateway restarts and store outages, and no task exists
/// that no acknowledged request asked for.
public struct ExactlyOnceChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.exactlyOnce
    public private(set) var violations: [Violation] = []
    var taskOfRequest: [String: (TaskID, ObservedEvent)] = [:]
    var requestOfTask: [TaskID: (String, ObservedEvent)] = [:]

    public init() {}

    public mutating func observe(_ event: ObservedEvent) {
        let request: String
        let task: TaskID
        switch event.observation {
        case .client(.acknowledged(let id, let acknowledged)), .client(.conflictingAck(let id, let acknowledged)):
            request = "request \(id) of \(event.node)"
            task = acknowledged
        default:
            return
        }
        if let (other, where_) = taskOfRequest[request], other != task {
            violations.append(Violation(
                invariant: invariant, task: task, node: nil, time: event.time,
                detail: "\(request) was acknowledged as task \(other) and again as task \(task)", events: [where_.summary, event.summary]))
        } else if taskOfRequest[request] == nil {
            taskOfRequest[request] = (task, event)
        }
        if let (other, where_) = requestOfTask[task], other != request {
            violations.append(Violation(
                invariant: invariant, task: task, node: nil, time: event.time,
                detail: "task \(task) was acknowledged to \(other) and to \(request)", events: [where_.summary, event.summary]))
        } else if requestOfTask[task] == nil {
            requestOfTask[task] = (request, event)
        }
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: SimInstant) {
        for task in snapshot.tasks where requestOfTask[task.taskID] == nil {
            violations.append(Violation(
                invariant: invariant, task: task.taskID, node: nil, time: end,
                detail: "task \(task.taskID) exists in the store, but no client request was acknowledged with it (a duplicate or ghost task)", events: []))
        }
    }

    public var evidence: String { "\(taskOfRequest.count) request(s), \(requestOfTask.count) task(s) acknowledged" }
}

/// 13. The scenario's latency budget: the mean, the p99 and the maximum of client-observed
/// task latency (first submit to the final status the client saw), in virtual time.
public struct LatencyChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.latency
    public private(set) var violations: [Violation] = []
    let budget: LatencyBudget?
    var latencies: [(latency: Int64, task: TaskID, event: ObservedEvent)] = []

    public init(budget: LatencyBudget?) { self.budget = budget }

    public mutating func observe(_ event: ObservedEvent) {
        if case .client(.finished(let task, let latency, _)) = event.observation { latencies.append((latency, task, event)) }
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: SimInstant) {
        guard let budget, !latencies.isEmpty else { return }
        let sorted = latencies.sorted { ($0.latency, $0.task) < ($1.latency, $1.task) }
        let worst = sorted.last!
        if let limit = budget.max, worst.latency > limit.nanoseconds {
            violations.append(Violation(
                invariant: invariant, task: worst.task, node: nil, time: worst.event.time,
                detail: "task latency max \(SimDuration(nanoseconds: worst.latency)) is over the budget of \(limit)", events: [worst.event.summary]))
        }
        let mean = sorted.map(\.latency).reduce(0, +) / Int64(sorted.count)
        if let limit = budget.mean, mean > limit.nanoseconds {
            violations.append(Violation(
                invariant: invariant, task: nil, node: nil, time: end,
                detail: "mean task latency \(SimDuration(nanoseconds: mean)) over \(sorted.count) task(s) is over the budget of \(limit)",
                events: [worst.event.summary]))
        }
        if let floor = budget.meanMin, mean < floor.nanoseconds {
            violations.append(Violation(
                invariant: invariant, task: nil, node: nil, time: end,
                detail: "mean task latency \(SimDuration(nanoseconds: mean)) over \(sorted.count) task(s) is under the calibrated band's floor of \(floor)",
                events: [sorted.first!.event.summary]))
        }
        let p50 = sorted[Self.percentileIndex(50, count: sorted.count)]
        if let floor = budget.p50Min, p50.latency < floor.nanoseconds {
            violations.append(Violation(
                invariant: invariant, task: p50.task, node: nil, time: p50.event.time,
                detail: "median task latency \(SimDuration(nanoseconds: p50.latency)) over \(sorted.count) task(s) is under the calibrated band's floor of \(floor)",
                events: [p50.event.summary]))
        }
        let p99 = sorted[Self.percentileIndex(99, count: sorted.count)]
        if let limit = budget.p99, p99.latency > limit.nanoseconds {
            violations.append(Violation(
                invariant: invariant, task: p99.task, node: nil, time: p99.event.time,
                detail: "task latency p99 \(SimDuration(nanoseconds: p99.latency)) over \(sorted.count) task(s) is over the budget of \(limit)",
                events: [p99.event.summary]))
        }
    }

    /// The nearest-rank percentile's index, as the run report computes it.
    static func percentileIndex(_ p: Int, count: Int) -> Int { min(count - 1, max(0, (count * p + 99) / 100 - 1)) }

    public var evidence: String {
        guard let budget else { return "\(latencies.count) latencies; the scenario sets no budget" }
        let max = latencies.map(\.latency).max().map { "\(SimDuration(nanoseconds: $0))" } ?? "-"
        let mean = latencies.isEmpty ? "-" : "\(SimDuration(nanoseconds: latencies.map(\.latency).reduce(0, +) / Int64(latencies.count)))"
        let bound = { (value: SimDuration?) in value.map { "\($0)" } ?? "-" }
        var text = "\(latencies.count) latencies, mean \(mean), max \(max); budget mean \(bound(budget.mean)), p99 \(bound(budget.p99)), max \(bound(budget.max))"
        if budget.meanMin != nil || budget.p50Min != nil { text += "; floor mean \(bound(budget.meanMin)), p50 \(bound(budget.p50Min))" }
        return text
    }
}
