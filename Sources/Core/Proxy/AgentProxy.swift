public struct ProxySettings: Codable, Hashable, Sendable {
    public var proxy: Address
    public var region: Address
    public var store: Address
    /// The LLM endpoint this proxy's worker calls.
    public var llm: Address
    /// Endpoints the worker's retries fall back to, in turn, when a call to `llm` fails.
    public var llmFallbacks: [Address]
    public var heartbeatInterval: Interval
    public var balancing: BalancingPolicy
    public var voting: VotingPolicy
    public var worker: LLMWorkerSettings
    public var roundRetries: Int
    public var maxTokens: Int
    /// How long an owner waits for a worker's answer (queueing included) before counting the
    /// call as failed. A backstop: a worker that leaves the membership or restarts fails its
    /// calls at once.
    public var workTimeout: Interval
    /// How often a call that met a full queue is sent to another worker before it fails.
    public var queueFullRetries: Int
    /// How often an owner asks its workers whether they still hold its calls. A call a worker no
    /// longer holds was lost (the work or its answer dropped) and is sent again at once; a worker
    /// that ignores three checks in a row is taken as unreachable.
    public var workCheckInterval: Interval
    /// A node whose calls keep failing with transient errors (the workers' own retries
    /// exhausted each time) and never succeed for this long is aborted as `llmUnavailable`.
    /// Shorter outages only delay the task: the calls are sent again.
    public var llmUnavailableAfter: Interval
    /// The first wait before a call that met full queues on every worker is offered again;
    /// doubled each time, up to 30 s. A full queue is overload: the call waits, never fails.
    public var busyRetryDelay: Interval
    public var storeTimeout: Interval
    public var storeAttemptsMax: Int
    public var checkpoints: CheckpointPolicy

    public init(
        proxy: Address, region: Address, store: Address = .store, llm: Address, llmFallbacks: [Address] = [],
        heartbeatInterval: Interval = .seconds(1),
        balancing: BalancingPolicy = .leastLoaded, voting: VotingPolicy = .naive, worker: LLMWorkerSettings = LLMWorkerSettings(),
        roundRetries: Int = 2, maxTokens: Int = 2000, workTimeout: Interval = .seconds(300), queueFullRetries: Int = 3,
        workCheckInterval: Interval = .seconds(10), llmUnavailableAfter: Interval = .seconds(300), busyRetryDelay: Interval = .seconds(1),
        storeTimeout: Interval = .seconds(1), storeAttemptsMax: Int = 6, checkpoints: CheckpointPolicy = .perNode
    ) {
        self.checkpoints = checkpoints
        self.proxy = proxy
        self.region = region
        self.store = store
        self.llm = llm
        self.llmFallbacks = llmFallbacks
        self.heartbeatInterval = heartbeatInterval
        self.balancing = balancing
        self.voting = voting
        self.worker = worker
        self.roundRetries = roundRetries
        self.maxTokens = maxTokens
        self.workTimeout = workTimeout
        self.queueFullRetries = queueFullRetries
        self.workCheckInterval = workCheckInterval
        self.llmUnavailableAfter = llmUnavailableAfter
        self.busyRetryDelay = busyRetryDelay
        self.storeTimeout = storeTimeout
        self.storeAttemptsMax = storeAttemptsMax
    }
}

/// An agent proxy, with the reference's two roles: the owner of the tasks its region hands it
/// (`AgentProxy+Owner.swift`), and an LLM worker that serves calls from every owner in the
/// region (`LLMWorker`). It heartbeats to its region and learns its fellow workers from the
/// replies.
public struct AgentProxy: CoreMachine {
    enum Purpose {
        case loadTask(TaskID, Epoch)
        case loadProgress(TaskID, Epoch)
        case save(TaskID, Epoch, node: String, output: String)
        /// A round checkpoint (`per-round`): nothing waits for it.
        case saveRound(TaskID, Epoch)
        case finish(TaskID, Epoch)

        var task: TaskID {
            switch self {
            case .loadTask(let task, _), .loadProgress(let task, _), .save(let task, _, _, _), .saveRound(let task, _), .finish(let task, _): task
            }
        }
    }

    /// A call sent to a worker and not yet answered.
    struct Outstanding {
        var task: TaskID
        var node: String
        var call: CallRequest
        var worker: Address
        var workerIncarnation: UInt32 = 0
        var queueFullCount: Int
        var sentAt: Instant = .zero
        /// Checks sent to the worker about this call since it last answered one.
        var unansweredChecks = 0
        /// Times the call was sent again after its worker lost it.
        var resends = 0
    }

    public let settings: ProxySettings
    public let incarnation: UInt32
    /// Heartbeats sent in this life: each carries its number.
    var heartbeatsSent: UInt64 = 0
    var calls: StoreCalls<Purpose>
    var worker: LLMWorker
    var callIDs: RequestIDs
    /// When one of this owner's calls was last answered: the LLM was up then, whatever a
    /// starved node's own calls met.
    var llmAnsweredAt: Instant?

    /// Makes the worker forget a call backing off after the failed attempt `attemptID`;
    /// whether it held one. Only the planted bugs of `bench find` call it.
    @_spi(PlantedBugs) public mutating func forgetBackoff(attempt attemptID: UInt64) -> Bool {
        worker.backingOff.removeValue(forKey: attemptID) != nil
    }
    /// Fellow workers (this proxy included) with their reported workloads, in name order.
    var workers: [ProxyLoad]
    var sentSinceReport: [Address: Int] = [:]
    var runs: [TaskID: TaskRun] = [:]
    var outstanding: [UInt64: Outstanding] = [:]
    /// Calls waiting to be offered again after every worker's queue was full, by the id of the
    /// call that met the last full queue.
    var waitingForCapacity: [UInt64: Outstanding] = [:]

    public init(settings: ProxySettings, incarnation: UInt32) {
        self.settings = settings
        self.incarnation = incarnation
        calls = StoreCalls(store: settings.store, timeout: settings.storeTimeout, attemptsMax: settings.storeAttemptsMax, incarnation: incarnation)
        worker = LLMWorker(settings: settings.worker, endpoint: settings.llm, fallbacks: settings.llmFallbacks, incarnation: incarnation)
        callIDs = RequestIDs(incarnation: incarnation)
        workers = [ProxyLoad(proxy: settings.proxy, incarnation: incarnation, workload: 0)]
    }

    /// The owner the region's claims name for this life of the proxy.
    public var owner: Owner { Owner(proxy: settings.proxy, incarnation: incarnation) }

    /// Tasks this proxy is running (for tests and checkers).
    public var runningTasks: [TaskID: Epoch] { runs.mapValues(\.epoch) }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R, into effects: inout [CoreEffect]) {
        switch input {
        case .start:
            effects.append(.setTimer(.heartbeat, after: random.jittered(.zero, spread: settings.heartbeatInterval)))
        case .timer(.heartbeat):
            heartbeatsSent += 1
            let heartbeat = CoreMessage.proxyHeartbeat(proxy: settings.proxy, incarnation: incarnation, sequence: heartbeatsSent, workload: worker.load)
            effects.append(.send(to: settings.region, heartbeat))
            effects.append(.setTimer(.heartbeat, after: random.jittered(settings.heartbeatInterval, spread: settings.heartbeatInterval / 10)))
        case .timer(.storeRetry(let requestID)):
            if let purpose = calls.retry(requestID, into: &effects) {
                // The store is unreachable: let go of the task; the region will hand it out again.
                stopRun(purpose.task, into: &effects)
            }
        case .timer(.workTimeout(let callID)):
            guard let call = outstanding.removeValue(forKey: callID) else { break }
            let reason = "worker \(call.worker) did not answer within \(settings.workTimeout.milliseconds) ms"
            transientFailure(call, reason: reason, context: context, random: &random, into: &effects)
        case .timer(.capacityRetry(let callID)):
            guard let call = waitingForCapacity.removeValue(forKey: callID), isWanted(call) else { break }
            send(call, avoiding: nil, now: context.now, random: &random, into: &effects)
        case .timer(.workCheck):
            checkOutstandingWork(context: context, random: &random, into: &effects)
        case .timer(.llmTimeout(let requestID)):
            worker.timedOut(requestID, into: &effects)
        case .timer(.llmRetry(let requestID)):
            worker.retryDue(requestID, into: &effects)
        case .timer:
            break
        case .message(let from, .llmWorkHeld(let held)):
            heldReport(from: from, Set(held), context: context, random: &random, into: &effects)
        case .message(_, let message):
            receive(message, context: context, random: &random, into: &effects)
        }
    }

    private mutating func receive<R: RandomSource>(
        _ message: CoreMessage, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        switch message {
        case .membership(let proxies):
            workers = proxies.isEmpty
                ? [ProxyLoad(proxy: settings.proxy, incarnation: incarnation, workload: worker.load)] : Self.sortedByName(proxies)
            sentSinceReport = [:]
            failCallsOfDepartedWorkers(context: context, random: &random, into: &effects)
        case .run(let taskID, let epoch, let owner):
            guard owner == self.owner else { return }  // a claim made for another life of this proxy
            startRun(taskID, epoch: epoch, into: &effects)
        case .storeReply(let requestID, let reply):
            guard let purpose = calls.reply(requestID, into: &effects) else { return }
            stored(reply, for: purpose, context: context, random: &random, into: &effects)
        case .llmWork(let work):
            worker.receive(work, into: &effects)
        case .llmWorkCheck(let owner, let callIDs):
            effects.append(.send(to: owner, .llmWorkHeld(callIDs: worker.held(owner: owner, callIDs: callIDs))))
        case .llmReply(let reply):
            worker.reply(reply, into: &effects)
        case .llmWorkReply(let callID, let result):
            guard let call = outstanding.removeValue(forKey: callID) else { return }
            effects.append(.cancelTimer(.workTimeout(callID: callID)))
            switch result {
            case .text(let text):
                runs[call.task]?.failingSince[call.node] = nil
                llmAnsweredAt = context.now
                record(call, result: .success(text), context: context, random: &random, into: &effects)
            case .failed(let reason, true, _):
                transientFailure(call, reason: reason, context: context, random: &random, into: &effects)
            case .failed(let reason, false, let status):
                record(call, result: .failure(CallFailure(reason, status: status)), context: context, random: &random, into: &effects)
            case .queueFull:
                var retry = call
                retry.queueFullCount += 1
                if call.queueFullCount < settings.queueFullRetries {
                    send(retry, avoiding: call.worker, now: context.now, random: &random, into: &effects)
                } else if isWanted(call) {
                    // Every worker tried is full: overload. The call waits and is offered again.
                    let doublings = min(call.queueFullCount - settings.queueFullRetries, 5)
                    waitingForCapacity[callID] = retry
                    effects.append(.setTimer(.capacityRetry(callID: callID), after: min(.seconds(30), settings.busyRetryDelay << Int64(doublings))))
                }
            }
        default:
            break
        }
    }

    /// Asks each worker about the calls sent to it at least one interval ago; gives up on a
    /// worker that ignored three checks in a row.
    private mutating func checkOutstandingWork<R: RandomSource>(
        context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        var ask: [Address: [UInt64]] = [:]
        for callID in outstanding.keys.sorted() {
            guard var call = outstanding[callID], context.now - call.sentAt >= settings.workCheckInterval else { continue }
            if call.unansweredChecks >= 3 {
                lost(callID, reason: "worker \(call.worker) did not answer three checks", context: context, random: &random, into: &effects)
                continue
            }
            call.unansweredChecks += 1
            outstanding[callID] = call
            ask[call.worker, default: []].append(callID)
        }
        for worker in ask.keys.sorted() {
            effects.append(.send(to: worker, .llmWorkCheck(owner: settings.proxy, callIDs: ask[worker]!)))
        }
        if !outstanding.isEmpty { effects.append(.setTimer(.workCheck, after: settings.workCheckInterval)) }
    }

    /// A worker said which of the checked calls it holds; the others it lost.
    private mutating func heldReport<R: RandomSource>(
        from worker: Address, _ held: Set<UInt64>, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        for callID in outstanding.keys.sorted() {
            guard let call = outstanding[callID], call.worker == worker, call.unansweredChecks > 0 else { continue }
            if held.contains(callID) {
                // The worker has it (queued behind others, or retrying): waiting in a busy queue
                // is not a failure, so the backstop starts again.
                outstanding[callID]!.unansweredChecks = 0
                effects.append(.setTimer(.workTimeout(callID: callID), after: settings.workTimeout))
            } else {
                lost(callID, reason: "worker \(worker) no longer held the call", context: context, random: &random, into: &effects)
            }
        }
    }

    /// A call whose worker lost it (or is unreachable) goes to another worker: a lost call is
    /// the network's or a worker's fault, never the task's.
    private mutating func lost<R: RandomSource>(
        _ callID: UInt64, reason: String, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        guard var call = outstanding.removeValue(forKey: callID) else { return }
        effects.append(.cancelTimer(.workTimeout(callID: callID)))
        guard isWanted(call) else { return }
        call.resends += 1
        send(call, avoiding: call.worker, now: context.now, random: &random, into: &effects)
    }

    /// A worker that left the membership (evicted) or came back as a new life (restarted) lost
    /// the calls it held: they go to another worker now rather than at the backstop timeout.
    private mutating func failCallsOfDepartedWorkers<R: RandomSource>(
        context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        // Most memberships change nothing: look for a departed worker before sorting the calls.
        // (The membership is a handful of workers: a scan of it beats building a dictionary.)
        let workers = self.workers
        func life(of worker: Address) -> UInt32? { workers.first { $0.proxy == worker }?.incarnation }
        guard outstanding.values.contains(where: { life(of: $0.worker) != $0.workerIncarnation }) else { return }
        for callID in outstanding.keys.sorted() {
            guard let call = outstanding[callID], life(of: call.worker) != call.workerIncarnation else { continue }
            outstanding[callID] = nil
            effects.append(.cancelTimer(.workTimeout(callID: callID)))
            guard isWanted(call) else { continue }
            var again = call
            again.resends += 1
            send(again, avoiding: call.worker, now: context.now, random: &random, into: &effects)
        }
    }

    /// The regions list members in name order already; sort only if one does not.
    static func sortedByName(_ proxies: [ProxyLoad]) -> [ProxyLoad] {
        zip(proxies, proxies.dropFirst()).allSatisfy { $0.proxy < $1.proxy } ? proxies : proxies.sorted { $0.proxy < $1.proxy }
    }

    /// Whether the call's node still runs and still waits for this wave: a call of a finished
    /// wave is not worth sending again.
    func isWanted(_ call: Outstanding) -> Bool {
        runs[call.task]?.nodes[call.node]?.wave == call.call.wave
    }

    /// A call failed for a reason that may pass (the worker's retries ran out on timeouts,
    /// 5xx or 429; the worker went silent): it is sent again, unless the node's calls have
    /// failed without one success for `llmUnavailableAfter`, when the task is aborted. The
    /// streak counts from this owner's last answered call too: a node whose calls lose to its
    /// neighbours' under a rate limit is starved, not cut off from an LLM that is down (a
    /// guided swarm search found such a task aborted while the LLM served every other).
    mutating func transientFailure<R: RandomSource>(
        _ call: Outstanding, reason: String, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        guard isWanted(call) else { return }
        var failing = runs[call.task]!.failingSince[call.node] ?? FailingSince(since: context.now, failures: 0)
        if let answered = llmAnsweredAt, answered > failing.since { failing.since = answered }
        failing.failures += 1
        runs[call.task]!.failingSince[call.node] = failing
        if context.now - failing.since >= settings.llmUnavailableAfter {
            abort(call.task, cause: .llmUnavailable(node: call.node, since: failing.since, failures: failing.failures), into: &effects)
            return
        }
        effects.append(.observe(.note("task \(call.task) node \(call.node): call failed (\(reason)); sending it again")))
        var again = call
        again.resends += 1
        send(again, avoiding: call.worker, now: context.now, random: &random, into: &effects)
    }

    /// The worker the balancing policy picks for one call.
    func pick<R: RandomSource>(from candidates: [Address], random: inout R) -> Address {
        switch settings.balancing {
        case .random:
            return candidates[random.index(below: candidates.count)]
        case .leastLoadedPerRound:
            // A call sent alone (again, after its worker lost it): the least reported load.
            var best = 0
            for index in candidates.indices.dropFirst() where load(of: candidates[index]) < load(of: candidates[best]) { best = index }
            return candidates[best]
        case .leastLoaded:
            // The candidates are the workers in membership order, less the avoided one: each
            // one's reported load is found by walking the membership alongside, not through a
            // dictionary built for every call.
            var loads: [Int] = []
            loads.reserveCapacity(candidates.count)
            var member = 0
            for candidate in candidates {
                while workers[member].proxy != candidate {
                    member += 1
                    precondition(member < workers.count, "candidate \(candidate) is not in the membership \(workers.map(\.proxy))")
                }
                loads.append(workers[member].workload + sentSinceReport[candidate, default: 0])
            }
            let lowest = loads.min()!
            let least = candidates.indices.filter { loads[$0] == lowest }
            return candidates[least[random.index(below: least.count)]]
        }
    }

    /// A worker's workload as last reported (0 for one not in the membership).
    func load(of proxy: Address) -> Int { workers.first { $0.proxy == proxy }?.workload ?? 0 }

    /// Where `leastLoadedPerRound` sends a round's `count` calls: greedily to the least
    /// reported load plus this round's own picks, ties to the first in membership order; when
    /// every call landed on one worker and there is another, the last goes to the second least
    /// reported instead.
    func roundTargets(count: Int) -> [Address] {
        var loads = workers.map(\.workload)
        var picks: [Int] = []
        for _ in 0..<count {
            var best = 0
            for index in loads.indices.dropFirst() where loads[index] < loads[best] { best = index }
            picks.append(best)
            loads[best] += 1
        }
        if count > 1, workers.count > 1, Set(picks).count == 1 {
            // A stable sort of the reported loads: the second in it is never the one picked.
            let byLoad = workers.indices.sorted { (workers[$0].workload, $0) < (workers[$1].workload, $1) }
            picks[count - 1] = byLoad[1]
        }
        return picks.map { workers[$0].proxy }
    }

    /// Sends a call to a worker chosen by the balancing policy.
    /// `target` is the worker a round's spread chose (`leastLoadedPerRound`); without one the
    /// balancing policy picks.
    mutating func send<R: RandomSource>(
        _ call: Outstanding, avoiding: Address?, target chosen: Address? = nil, now: Instant, random: inout R, into effects: inout [CoreEffect]
    ) {
        var candidates = workers.map(\.proxy)
        if let avoiding, candidates.count > 1 { candidates.removeAll { $0 == avoiding } }
        let target = chosen ?? pick(from: candidates, random: &random)
        sentSinceReport[target, default: 0] += 1
        if outstanding.isEmpty { effects.append(.setTimer(.workCheck, after: settings.workCheckInterval)) }
        var call = call
        call.worker = target
        call.sentAt = now
        call.unansweredChecks = 0
        call.workerIncarnation = workers.first { $0.proxy == target }?.incarnation ?? 0
        let callID = callIDs.make()
        outstanding[callID] = call
        let query = runs[call.task]?.plan?.query
        let work = LLMWork(
            callID: callID, owner: settings.proxy, taskID: call.task, node: call.node, kind: call.call.kind, prompt: call.call.prompt,
            stop: call.call.stop, maxTokens: settings.maxTokens,
            totalCalls: query.map { $0.nRounds * ($0.nSamples + $0.nVoters) } ?? 0,
            remainingHalfCalls: runs[call.task]?.nodes[call.node]?.remainingHalfCalls ?? 0)
        effects.append(.send(to: target, .llmWork(work)))
        effects.append(.setTimer(.workTimeout(callID: callID), after: settings.workTimeout))
    }
}
