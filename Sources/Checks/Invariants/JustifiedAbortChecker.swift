import Core

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
        case .core(.write(let task, .finish(.aborted, _, nil), _, _, .applied(_, false))):
            // An abort must say why; one without a cause cannot be justified.
            violations.append(Violation(
                invariant: invariant, task: task, node: nil, time: event.time, detail: "task \(task) was aborted without a cause", events: [event.summary]))
        case .llm(let call):
            if let answer = call.answerDigest, let fault = call.fault, Self.contentFaults.contains(fault) {
                malformed[call.task, default: [:]][call.node, default: []].insert(answer)
            }
            if (400..<500).contains(call.status), call.status != 429 { refusals[call.task, default: [:]][call.node, default: []].insert(call.status) }
        default:
            break
        }
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: Instant) {
        let tasks = Dictionary(snapshot.tasks.map { ($0.taskID, $0) }, uniquingKeysWith: { first, _ in first })
        for (task, cause, event) in aborts {
            guard let why = unjustified(task: task, cause: cause, at: event.time, record: tasks[task]) else { continue }
            violations.append(Violation(
                invariant: invariant, task: task, node: Self.node(of: cause), time: event.time,
                detail: "aborted as \(cause.kind) (\"\(cause.reason)\"), but \(why)", events: [event.summary]))
        }
    }

    /// Why the abort was not justified, or nil when it was.
    func unjustified(task: TaskID, cause: AbortCause, at time: Instant, record: TaskRecord?) -> String? {
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
            if time - since < context.llmUnavailableAfter {
                return "its calls had failed for \((time - since).milliseconds) ms, less than the \(context.llmUnavailableAfter.milliseconds) ms budget"
            }
            return inFaults ? nil : "the LLMs answer after the heal at \(context.healAt), and the abort came later"
        case .noRegion(let since):
            if !context.regionServesAfterHeal { return nil }
            if time - since < context.noRegionAfter {
                return "no region had been live for only \((time - since).milliseconds) ms, less than the \(context.noRegionAfter.milliseconds) ms budget"
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

extension JustifiedAbortChecker: RegisteredChecker {
    public static let name = "justified aborts"
    public static let needsLiveness = true
}
