import Core

/// 14. Every refused submit has a cause the history confirms. A refusal ends a request as
/// answered, so a gateway that refuses wrongly (keys built so that clients collide, a limit
/// miscounted) passes every checker that only asks whether requests were answered.
///
/// - A rejection (`submitRejected`, final) is justified when the query is invalid under the
///   cluster's limits, or when the same client sent a different query under the same request
///   key earlier (its key is taken).
/// - An admission refusal (`submitBusy`, retried) is justified when the cluster really was at
///   its limit as far as the gateway could know: its count is formed from a sweep it sent `viewAge`
///   before the refusal and only learns of finishes later, so the bound it is held to is the tasks
///   unfinished at any moment since then, plus the creates it had admitted and not seen
///   answered, plus the creates it gave up on unanswered since then (the store may have applied
///   one all the same, as a create delayed in the network does after the gateway stopped
///   waiting: the gateway counts each until a sweep sent after it is read), plus the tasks it
///   acknowledged since then for a create the store answered with an existing task (a repeated
///   key): the gateway counts such a task as open until a later sweep lists it or not, since
///   the reply does not say whether it is finished. Refusing below that is refusing work the
///   cluster could take.
public struct JustifiedRejectionChecker: InvariantChecker {
    public var observesMessages: Bool { false }
    public let invariant = Invariant.justifiedRejections
    public private(set) var violations: [Violation] = []
    let limits: QueryLimits
    let openTasksMax: Int
    /// Each client's requests: request id -> query (nil: a history that did not record it).
    var queries: [Address: [UInt64: Query]] = [:]
    /// The requests each client sent under each key, in order.
    var keyUsers: [Address: [String: [UInt64]]] = [:]
    var created: [TaskID: Instant] = [:]
    var finished: [TaskID: Instant] = [:]
    /// Tasks a create found already there (a repeated key), with when the store said so.
    var foundExisting: [TaskID: Instant] = [:]
    var admitting = AdmissionsInFlight()
    /// Creates the gateway gave up on unanswered, with when and in which of its lives (a new
    /// life counts none of an older one's), and the keys the store made a task for.
    var unanswered: [String: (at: Instant, incarnation: UInt32)] = [:]
    var gatewayLife: UInt32 = 0
    var createdKeys: [String: Instant] = [:]
    var rejections = 0
    var refusals = 0
    var unjudged = 0

    public init(limits: QueryLimits = QueryLimits(), openTasksMax: Int = GatewaySettings(regions: ["r"]).openTasksMax) {
        self.limits = limits
        self.openTasksMax = openTasksMax
    }

    static func key(of query: Query, requestID: UInt64) -> String { query.requestKey.map { "key:\($0)" } ?? "request:\(requestID)" }

    public mutating func observe(_ event: ObservedEvent) {
        switch event.observation {
        case .client(.submitted(let requestID, let query)):
            guard let query else { return }
            queries[event.node, default: [:]][requestID] = query
            keyUsers[event.node, default: [:]][Self.key(of: query, requestID: requestID), default: []].append(requestID)
        case .client(.rejected(let requestID, let reason)):
            rejections += 1
            judgeRejection(requestID, reason: reason, event)
        case .core(.taskCreated(let task, let key, .new)):
            created[task] = created[task] ?? event.time
            createdKeys[key] = createdKeys[key] ?? event.time
        case .core(.taskCreated(let task, _, .existing)):
            foundExisting[task] = event.time
        case .core(.write(let task, .finish, _, _, .applied)), .core(.write(let task, .abort, _, _, .applied)):
            finished[task] = finished[task] ?? event.time
        case .core(.createAdmitted(_, let incarnation)):
            gatewayLife = max(gatewayLife, incarnation)
            _ = admitting.observe(event.observation)
        case .core(.createEnded(let key, let incarnation, let answered)):
            gatewayLife = max(gatewayLife, incarnation)
            if !answered { unanswered[key] = (event.time, incarnation) }
            _ = admitting.observe(event.observation)
        case .core(.admissionRefused(let counted, let viewAge)):
            refusals += 1
            judgeRefusal(counted: counted, since: event.time - viewAge, event)
        default:
            break
        }
    }

    private mutating func judgeRejection(_ requestID: UInt64, reason: String, _ event: ObservedEvent) {
        guard let query = queries[event.node]?[requestID] else {
            unjudged += 1
            return
        }
        if case .failure = TaskPlan.validate(query, limits: limits) { return }
        let key = Self.key(of: query, requestID: requestID)
        let others = (keyUsers[event.node]?[key] ?? []).filter { $0 != requestID }
        if others.contains(where: { queries[event.node]?[$0] != query }) { return }
        violations.append(Violation(
            invariant: invariant, task: nil, node: event.node.name, time: event.time,
            detail: "request \(requestID) of \(event.node) was refused ('\(reason)'), but its query is valid and its key was never used for another query by \(event.node)",
            events: [event.summary]))
    }

    private mutating func judgeRefusal(counted: Int, since: Instant, _ event: ObservedEvent) {
        // Every task unfinished at some moment between the view's sweep and the refusal.
        var occupied = 0
        for (task, at) in created where at <= event.time {
            if let end = finished[task], end < since {
                // Finished before the view, but found again by a repeated key since: counted.
                if let found = foundExisting[task], found >= since, found <= event.time { occupied += 1 }
                continue
            }
            occupied += 1
        }
        // Given up on since the view's sweep was sent, in this life, and not yet a task (one is
        // in `occupied` already).
        let uncertain = unanswered.filter { key, ended in
            ended.incarnation == gatewayLife && ended.at >= since && ended.at <= event.time && !(createdKeys[key].map { $0 <= event.time } ?? false)
        }.count
        let bound = occupied + admitting.count + uncertain
        guard bound < openTasksMax else { return }
        violations.append(Violation(
            invariant: invariant, task: nil, node: event.node.name, time: event.time,
            detail: "the gateway refused a submit as busy (it counted \(counted) of its limit \(openTasksMax)), but at most \(occupied) task(s) were unfinished since its view of t=\(since) and \(admitting.count) create(s) were in flight (\(uncertain) given up on unanswered since)",
            events: [event.summary]))
    }

    public var evidence: String {
        var text = "\(rejections) rejection(s), \(refusals) admission refusal(s)"
        if unjudged > 0 { text += ", \(unjudged) without a recorded query (not judged)" }
        return text
    }
}

extension JustifiedRejectionChecker: RegisteredChecker {
    public static let name = "justified rejections"
    public static let needsLiveness = false

    public init(context: CheckContext) { self.init(limits: context.queryLimits, openTasksMax: context.openTasksMax) }
}
