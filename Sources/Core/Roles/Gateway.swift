public struct GatewaySettings: Codable, Hashable, Sendable {
    public var regions: [Address]
    public var store: Address
    public var limits: QueryLimits
    /// A region silent for this long is failed over.
    public var regionTimeout: Interval
    /// How often the gateway reconciles every unfinished task with the store.
    public var sweepInterval: Interval
    public var storeTimeout: Interval
    public var storeAttemptsMax: Int
    /// With no live region for this long, a task waiting for placement is aborted as
    /// `noRegion`. Failovers never abort a task: as long as some region is live, tasks wait.
    public var noRegionAfter: Interval
    /// Admission control: with this many unfinished tasks the gateway refuses new queries with
    /// `submitBusy` before storing anything, instead of acknowledging work it cannot start.
    public var openTasksMax: Int
    /// The wait a refused client is told to keep before it tries again.
    public var busyRetryAfter: Interval

    public init(
        regions: [Address], store: Address = .store, limits: QueryLimits = QueryLimits(), regionTimeout: Interval = .seconds(3),
        sweepInterval: Interval = .seconds(5), storeTimeout: Interval = .seconds(1), storeAttemptsMax: Int = 4, noRegionAfter: Interval = .seconds(300),
        openTasksMax: Int = 1024, busyRetryAfter: Interval = .seconds(2)
    ) {
        precondition(openTasksMax >= 1, "openTasksMax must be at least 1, got \(openTasksMax)")
        self.openTasksMax = openTasksMax
        self.busyRetryAfter = busyRetryAfter
        self.regions = regions
        self.store = store
        self.limits = limits
        self.regionTimeout = regionTimeout
        self.sweepInterval = sweepInterval
        self.storeTimeout = storeTimeout
        self.storeAttemptsMax = storeAttemptsMax
        self.noRegionAfter = noRegionAfter
    }
}

/// The global coordinator. It stores each accepted query as a task and answers with the task id
/// only once the task is durable; it hands tasks to live regions by a claim `(g+1, 0)` written
/// before the region hears of it; it fails over the tasks of silent regions; it answers status
/// from the store, so a restarted gateway knows every task. Its memory holds only liveness and
/// outstanding requests: the store is the truth.
public struct Gateway: CoreMachine {
    enum Purpose {
        case create(client: Address, requestID: UInt64, key: String, request: String)
        case status(client: Address, requestID: UInt64, task: TaskID)
        case claim(task: TaskID, epoch: Epoch, region: Address)
        case abort(task: TaskID)
        /// The `generation`-th sweep of this incarnation (from 1).
        case sweep(generation: UInt64)
    }

    /// A submit that came in before the gateway knew its open tasks.
    struct HeldSubmit {
        var client: Address
        var requestID: UInt64
        var plan: TaskPlan
        var query: Query
    }

    public let settings: GatewaySettings
    let incarnation: UInt32
    var calls: StoreCalls<Purpose>
    var lastHeard: [Address: Instant] = [:]
    var loads: [Address: Int] = [:]
    /// Failovers of each unfinished task, for the notes.
    var placements: [TaskID: Int] = [:]
    /// Since when no region has been live (nil: some region is live).
    var noRegionSince: Instant?
    /// Tasks with a claim in flight, so a sweep does not race it with a second claim.
    var claiming: Set<TaskID> = []
    /// Admission counts three kinds of task against `openTasksMax`: `open`, the unfinished tasks
    /// as far as the gateway knows (the newest applied sweep's list, plus tasks acknowledged
    /// since that sweep was sent, less tasks a status reply showed finished); `creating`, the
    /// creates in flight; and `uncertain`, creates the store never answered, which may have
    /// made a task all the same, until a sweep sent after the failure has been read.
    var open: Set<TaskID> = []
    /// Creates in flight, by client key: admitted, so they count against the limit.
    var creating: Set<String> = []
    var uncertain: [String: UInt64] = [:]
    /// The sweep generation current when each recently acknowledged task was acknowledged: a
    /// sweep sent later has the task in its list if it is unfinished.
    var acknowledgedAt: [TaskID: UInt64] = [:]
    var sweepsSent: UInt64 = 0
    var sweepApplied: UInt64 = 0
    var sweepSentAt: [UInt64: Instant] = [:]
    /// When the sweep behind today's count was sent: the count is no older than that.
    var viewSince: Instant = .zero
    /// A (re)started gateway knows nothing of the tasks its earlier life admitted until its
    /// first sweep answers: admitting before then let a restarted gateway take up to twice its
    /// limit. Submits that arrive until then wait here, in arrival order (one per key).
    var admitting = false
    var held: [String: HeldSubmit] = [:]
    var heldOrder: [String] = []
    static let heldMax = 4096
    /// The keys this incarnation acknowledged most recently, with their task and query, so that
    /// a client re-sending an acknowledged key while the cluster is full gets its task id back
    /// instead of a refusal (the store would answer the same, but a full cluster does not ask
    /// it). Bounded: the oldest keys are forgotten first, and a restart forgets them all.
    var acknowledgedKeys: [String: AcknowledgedKey] = [:]
    var acknowledgedKeyRing: [String] = []
    var acknowledgedKeyNext = 0
    static let acknowledgedKeysMax = 4096

    struct AcknowledgedKey {
        var task: TaskID
        var request: String
    }

    public init(settings: GatewaySettings, incarnation: UInt32) {
        precondition(!settings.regions.isEmpty, "a gateway needs at least one region")
        self.settings = settings
        self.incarnation = incarnation
        calls = StoreCalls(store: settings.store, timeout: settings.storeTimeout, attemptsMax: settings.storeAttemptsMax, incarnation: incarnation)
    }

    /// What admission counts against `openTasksMax`.
    var admittedCount: Int { open.count + creating.count + uncertain.count }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R, into effects: inout [CoreEffect]) {
        switch input {
        case .start:
            // Every region gets a full timeout to be heard from after a (re)start.
            for region in settings.regions { lastHeard[region] = context.now }
            // The first sweep goes out at once: admission waits for its answer.
            sweep(context: context, into: &effects)
            effects.append(.setTimer(.sweep, after: settings.sweepInterval))
        case .timer(.sweep):
            sweep(context: context, into: &effects)
            effects.append(.setTimer(.sweep, after: settings.sweepInterval))
        case .timer(.storeRetry(let requestID)):
            if let purpose = calls.retry(requestID, into: &effects) { gaveUp(purpose, into: &effects) }
        case .timer:
            break
        case .message(let from, let message):
            receive(message, from: from, context: context, random: &random, into: &effects)
        }
    }

    private mutating func sweep(context: CoreContext, into effects: inout [CoreEffect]) {
        sweepsSent += 1
        sweepSentAt[sweepsSent] = context.now
        calls.call(.unfinishedTasks(region: nil), for: .sweep(generation: sweepsSent), into: &effects)
    }

    private mutating func receive<R: RandomSource>(
        _ message: CoreMessage, from: Address, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        switch message {
        case .submit(let requestID, let query):
            switch TaskPlan.validate(query, limits: settings.limits) {
            case .failure(let rejection):
                effects.append(.observe(.queryRejected(reason: rejection.reason)))
                effects.append(.send(to: from, .submitRejected(requestID: requestID, reason: rejection.reason)))
            case .success(let plan):
                // The client's key (or its own request id) makes a retried submit find the task it created.
                let key = query.requestKey.map { "key:\($0)" } ?? "\(from)#\(requestID)"
                guard admitting else {
                    hold(HeldSubmit(client: from, requestID: requestID, plan: plan, query: query), key: key, into: &effects)
                    return
                }
                admit(client: from, requestID: requestID, plan: plan, query: query, key: key, now: context.now, into: &effects)
            }
        case .statusQuery(let requestID, let taskID):
            calls.call(.taskStatus(taskID), for: .status(client: from, requestID: requestID, task: taskID), into: &effects)
        case .regionHeartbeat(let region, let load):
            guard settings.regions.contains(region) else { return }
            lastHeard[region] = context.now
            loads[region] = load
            noRegionSince = nil
        case .cannotPlace(let taskID, let epoch, _):
            place(taskID, current: epoch, avoiding: from, context: context, random: &random, into: &effects)
        case .storeReply(let requestID, let reply):
            guard let purpose = calls.reply(requestID, into: &effects) else { return }
            stored(reply, for: purpose, context: context, random: &random, into: &effects)
        default:
            break
        }
    }

    private mutating func hold(_ submit: HeldSubmit, key: String, into effects: inout [CoreEffect]) {
        if held[key] == nil {
            guard heldOrder.count < Self.heldMax else {
                let reason = "the gateway is starting and does not know its open tasks yet; retry later"
                effects.append(.send(to: submit.client, .submitBusy(requestID: submit.requestID, retryAfter: settings.busyRetryAfter, reason: reason)))
                return
            }
            heldOrder.append(key)
        }
        held[key] = submit
    }

    private mutating func admit(
        client: Address, requestID: UInt64, plan: TaskPlan, query: Query, key: String, now: Instant, into effects: inout [CoreEffect]
    ) {
        // A key already counted (in flight, or unanswered) takes no second place.
        let counted = creating.contains(key) || uncertain[key] != nil
        let request = CanonicalJSON.text(of: query)
        guard counted || admittedCount < settings.openTasksMax else {
            if let known = acknowledgedKeys[key], known.request == request {
                // Already durable and acknowledged: the retry takes no place, it gets its id.
                effects.append(.send(to: client, .submitted(requestID: requestID, taskID: known.task)))
                return
            }
            let count = admittedCount
            let reason = "the cluster holds \(count) unfinished tasks, its limit; retry later"
            effects.append(.observe(.admissionRefused(open: count, viewAge: now - viewSince)))
            effects.append(.send(to: client, .submitBusy(requestID: requestID, retryAfter: settings.busyRetryAfter, reason: reason)))
            return
        }
        uncertain[key] = nil
        creating.insert(key)
        effects.append(.observe(.createAdmitted(key: key, incarnation: incarnation)))
        let create = StoreRequest.createTask(
            userID: 0, taskType: query.taskName, description: query.taskDescription, plan: CanonicalJSON.text(of: plan),
            request: request, clientKey: key)
        calls.call(create, for: .create(client: client, requestID: requestID, key: key, request: request), into: &effects)
    }

    private mutating func stored<R: RandomSource>(
        _ reply: StoreReply, for purpose: Purpose, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        switch (purpose, reply) {
        case (.create(let client, let requestID, let key, let request), .created(let taskID)):
            creating.remove(key)
            // An earlier create of this key that went unanswered is this task: counted once, in
            // `open` (a guided swarm search found the key and its task counted twice).
            uncertain[key] = nil
            rememberAcknowledged(key, task: taskID, request: request)
            effects.append(.observe(.createEnded(key: key, incarnation: incarnation, answered: true)))
            // The task is durable: only now does the client learn its id.
            effects.append(.observe(.taskAcknowledged(task: taskID)))
            effects.append(.send(to: client, .submitted(requestID: requestID, taskID: taskID)))
            open.insert(taskID)
            acknowledgedAt[taskID] = sweepsSent
            place(taskID, current: .initial, avoiding: nil, context: context, random: &random, into: &effects)
        case (.create(let client, let requestID, let key, _), .keyConflict(let taskID)):
            creating.remove(key)
            effects.append(.observe(.createEnded(key: key, incarnation: incarnation, answered: true)))
            let reason = "request_id was already used for task \(taskID) with a different query"
            effects.append(.observe(.queryRejected(reason: reason)))
            effects.append(.send(to: client, .submitRejected(requestID: requestID, reason: reason)))
        case (.status(let client, let requestID, let taskID), .status(let status)):
            switch status {
            case .completed, .aborted, .nonExist: open.remove(taskID)
            case .pending, .running: break
            }
            effects.append(.send(to: client, .statusReply(requestID: requestID, status: status)))
        case (.claim(let taskID, let epoch, let region), .write(let outcome)):
            claiming.remove(taskID)
            if outcome.isApplied { effects.append(.send(to: region, .assign(taskID: taskID, epoch: epoch))) }
        case (.abort(let taskID), _):
            claiming.remove(taskID)
            placements[taskID] = nil
        case (.sweep(let generation), .tasks(let tasks)):
            let unfinished = Set(tasks.map(\.taskID))
            if generation > sweepApplied { countOpen(unfinished, sweep: generation) }
            placements = placements.filter { unfinished.contains($0.key) }
            for task in tasks where !claiming.contains(task.taskID) {
                if task.ownerRegion.isEmpty {
                    // Stored but never placed (the gateway crashed in between, or a claim was lost).
                    place(task.taskID, current: task.epoch, avoiding: nil, context: context, random: &random, into: &effects)
                } else if !isLive(Address(task.ownerRegion), now: context.now) {
                    place(task.taskID, current: task.epoch, avoiding: Address(task.ownerRegion), context: context, random: &random, into: &effects)
                }
            }
            if !admitting { admitHeld(now: context.now, into: &effects) }
        default:
            // A store failure: the client is told to come back; the rest is retried by the sweep.
            if case .claim(let taskID, _, _) = purpose { claiming.remove(taskID) }
            if case .create(let client, let requestID, let key, _) = purpose { createFailed(client, requestID, key, into: &effects) }
        }
    }

    /// The newest sweep's list is read: the open tasks are its list plus the tasks acknowledged
    /// after it was sent (which its read may have missed); creates unanswered before it was sent
    /// are in its list if they made a task.
    private mutating func countOpen(_ unfinished: Set<TaskID>, sweep generation: UInt64) {
        sweepApplied = generation
        viewSince = sweepSentAt[generation] ?? viewSince
        sweepSentAt = sweepSentAt.filter { $0.key > generation }
        acknowledgedAt = acknowledgedAt.filter { $0.value >= generation }
        uncertain = uncertain.filter { $0.value >= generation }
        open = unfinished.union(acknowledgedAt.keys)
    }

    private mutating func rememberAcknowledged(_ key: String, task: TaskID, request: String) {
        if acknowledgedKeys.updateValue(AcknowledgedKey(task: task, request: request), forKey: key) != nil { return }
        if acknowledgedKeyRing.count < Self.acknowledgedKeysMax {
            acknowledgedKeyRing.append(key)
        } else {
            acknowledgedKeys[acknowledgedKeyRing[acknowledgedKeyNext]] = nil
            acknowledgedKeyRing[acknowledgedKeyNext] = key
            acknowledgedKeyNext = (acknowledgedKeyNext + 1) % Self.acknowledgedKeysMax
        }
    }

    /// The first sweep answered: the submits that waited for it are judged, in arrival order.
    private mutating func admitHeld(now: Instant, into effects: inout [CoreEffect]) {
        admitting = true
        for key in heldOrder {
            guard let submit = held[key] else { continue }
            admit(client: submit.client, requestID: submit.requestID, plan: submit.plan, query: submit.query, key: key, now: now, into: &effects)
        }
        held = [:]
        heldOrder = []
    }

    private mutating func gaveUp(_ purpose: Purpose, into effects: inout [CoreEffect]) {
        switch purpose {
        case .claim(let taskID, _, _), .abort(let taskID): claiming.remove(taskID)
        case .create(let client, let requestID, let key, _): createFailed(client, requestID, key, into: &effects)
        case .status, .sweep: break  // the client retries; the sweep comes back
        }
    }

    /// The store failed a create, or never answered it: the client is told at once to come back
    /// (its request key reaches the task if the store did create it), instead of waiting for an
    /// answer that is not coming.
    private mutating func createFailed(_ client: Address, _ requestID: UInt64, _ key: String, into effects: inout [CoreEffect]) {
        creating.remove(key)
        // The create may have been applied all the same: it counts until a later sweep says.
        uncertain[key] = sweepsSent
        effects.append(.observe(.createEnded(key: key, incarnation: incarnation, answered: false)))
        let reason = "the store did not answer; retry with the same request id (the task may have been stored)"
        effects.append(.send(to: client, .submitBusy(requestID: requestID, retryAfter: settings.busyRetryAfter, reason: reason)))
    }

    func isLive(_ region: Address, now: Instant) -> Bool {
        guard let heard = lastHeard[region] else { return false }
        return now - heard <= settings.regionTimeout
    }

    /// Claims the task for the least-loaded live region (ties at random). Without any live
    /// region the task waits for the next sweep, and is aborted only once no region has been
    /// live for `noRegionAfter`.
    private mutating func place<R: RandomSource>(
        _ taskID: TaskID, current: Epoch, avoiding: Address?, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        guard !claiming.contains(taskID) else { return }
        // A loop, not `filter`: a closure calling `isLive` would capture a copy of the gateway.
        var candidates: [Address] = []
        for region in settings.regions where region != avoiding && isLive(region, now: context.now) { candidates.append(region) }
        if candidates.isEmpty, let avoiding, isLive(avoiding, now: context.now) { candidates = [avoiding] }
        // With no live region there is nobody to blame: the task waits for the next sweep
        // without using up a placement.
        guard !candidates.isEmpty else {
            let since = noRegionSince ?? context.now
            noRegionSince = since
            if context.now - since >= settings.noRegionAfter {
                claiming.insert(taskID)
                calls.call(.abort(taskID, epoch: current.nextRegionClaim, cause: .noRegion(since: since)), for: .abort(task: taskID), into: &effects)
            } else {
                effects.append(.observe(.note("task \(taskID): no live region; waiting")))
            }
            return
        }
        noRegionSince = nil
        placements[taskID, default: 0] += 1
        let lowest = candidates.map { loads[$0, default: 0] }.min()!
        let least = candidates.filter { loads[$0, default: 0] == lowest }
        let region = least[random.index(below: least.count)]
        let epoch = current.nextRegionClaim
        loads[region, default: 0] += 1
        claiming.insert(taskID)
        calls.call(.claim(taskID, epoch: epoch, region: region, owner: nil), for: .claim(task: taskID, epoch: epoch, region: region), into: &effects)
    }
}
