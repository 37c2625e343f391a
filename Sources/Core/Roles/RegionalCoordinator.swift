public struct RegionSettings: Codable, Hashable, Sendable {
    public var region: Address
    public var gateway: Address
    public var store: Address
    public var heartbeatInterval: Interval
    /// A proxy silent for this long is evicted and its tasks re-assigned.
    public var proxyTimeout: Interval
    public var sweepInterval: Interval
    public var storeTimeout: Interval
    public var storeAttemptsMax: Int
    /// A task with no live proxy for this long is handed back to the gateway.
    public var placementTimeout: Interval

    public init(
        region: Address, gateway: Address = .gateway, store: Address = .store, heartbeatInterval: Interval = .seconds(1),
        proxyTimeout: Interval = .seconds(3), sweepInterval: Interval = .seconds(5), storeTimeout: Interval = .seconds(1),
        storeAttemptsMax: Int = 4, placementTimeout: Interval = .seconds(10)
    ) {
        self.region = region
        self.gateway = gateway
        self.store = store
        self.heartbeatInterval = heartbeatInterval
        self.proxyTimeout = proxyTimeout
        self.sweepInterval = sweepInterval
        self.storeTimeout = storeTimeout
        self.storeAttemptsMax = storeAttemptsMax
        self.placementTimeout = placementTimeout
    }
}

/// A regional coordinator: membership of its proxies (heartbeats with workload, eviction after
/// a timeout), hand-over of its tasks to proxies by a claim `(g, r+1)` written before the proxy
/// starts, re-assignment when the owner is evicted or restarted, heartbeats to the gateway.
/// It reconciles with the store on a sweep, so lost messages and its own restarts heal.
public struct RegionalCoordinator: CoreMachine {
    enum Purpose {
        case fetch(TaskID)
        case sweep
        case claim(task: TaskID, epoch: Epoch, owner: Owner)
    }

    /// The newest life of a proxy the region knows of. An entry is never removed, so it also
    /// remembers which lives are over: an evicted proxy stays, not live, until it is heard again.
    struct Member {
        var lastHeard: Instant
        var incarnation: UInt32
        /// The highest heartbeat number heard from this life (0: none yet, only learned of).
        var sequence: UInt64
        var workload: Int

        /// Whether a heartbeat numbered `sequence` of life `incarnation` is newer than anything heard.
        func isOlder(thanIncarnation incarnation: UInt32, sequence: UInt64) -> Bool {
            Incarnation.precedes(self.incarnation, incarnation) || (self.incarnation == incarnation && self.sequence < sequence)
        }
    }

    public let settings: RegionSettings
    var calls: StoreCalls<Purpose>
    var members: [Address: Member] = [:]
    var startedAt: Instant = .zero
    var claiming: Set<TaskID> = []
    /// Calls handed to each proxy since its last heartbeat, added to its reported workload.
    var assignedSinceReport: [Address: Int] = [:]
    var unplacedSince: [TaskID: Instant] = [:]
    var ownedCount = 0

    public init(settings: RegionSettings, incarnation: UInt32) {
        self.settings = settings
        calls = StoreCalls(store: settings.store, timeout: settings.storeTimeout, attemptsMax: settings.storeAttemptsMax, incarnation: incarnation)
    }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R, into effects: inout [CoreEffect]) {
        switch input {
        case .start:
            startedAt = context.now
            effects.append(.setTimer(.heartbeat, after: random.jittered(.zero, spread: settings.heartbeatInterval)))
            effects.append(.setTimer(.sweep, after: settings.sweepInterval))
        case .timer(.heartbeat):
            effects.append(.send(to: settings.gateway, .regionHeartbeat(region: settings.region, load: ownedCount)))
            effects.append(.setTimer(.heartbeat, after: random.jittered(settings.heartbeatInterval, spread: settings.heartbeatInterval / 10)))
        case .timer(.sweep):
            calls.call(.unfinishedTasks(region: settings.region), for: .sweep, into: &effects)
            effects.append(.setTimer(.sweep, after: settings.sweepInterval))
        case .timer(.storeRetry(let requestID)):
            if case .claim(let task, _, _)? = calls.retry(requestID, into: &effects) { claiming.remove(task) }
        case .timer:
            break
        case .message(_, .proxyHeartbeat(let proxy, let incarnation, let sequence, let workload)):
            if let member = members[proxy], !member.isOlder(thanIncarnation: incarnation, sequence: sequence) {
                // A heartbeat of an earlier life, or one this life sent before one already heard:
                // delayed, duplicated or replayed. Acting on it would keep a dead proxy alive or
                // hand a live owner's tasks back to its dead predecessor.
                effects.append(.observe(.staleHeartbeatIgnored(proxy: proxy, incarnation: incarnation, newest: member.incarnation)))
                break
            }
            let joined = members[proxy].map { context.now - $0.lastHeard > settings.proxyTimeout || $0.incarnation != incarnation } ?? true
            members[proxy] = Member(lastHeard: context.now, incarnation: incarnation, sequence: sequence, workload: workload)
            if joined, !unplacedSince.isEmpty {
                // Tasks are waiting for a proxy and one just (re)joined: place them now, not at the next sweep.
                calls.call(.unfinishedTasks(region: settings.region), for: .sweep, into: &effects)
            }
            assignedSinceReport[proxy] = 0
            let view = liveMemberEntries(now: context.now).map { ProxyLoad(proxy: $0.key, incarnation: $0.value.incarnation, workload: $0.value.workload) }
            effects.append(.send(to: proxy, .membership(proxies: view)))
        case .message(_, .assign(let taskID, _)):
            calls.call(.getTask(taskID), for: .fetch(taskID), into: &effects)
        case .message(_, .storeReply(let requestID, let reply)):
            guard let purpose = calls.reply(requestID, into: &effects) else { break }
            stored(reply, for: purpose, context: context, random: &random, into: &effects)
        case .message:
            break
        }
    }

    /// Live proxies in name order.
    func liveMembers(now: Instant) -> [Address] {
        liveMemberEntries(now: now).map(\.key)
    }

    /// Live proxies and what the region knows of them, in name order. Filtered before sorting,
    /// in one pass over the members: this runs at every heartbeat and every task a sweep sees.
    /// (A closure reading `settings` captured a copy of the whole coordinator, and
    /// `Dictionary.filter` built a second dictionary, hashing every live name again.)
    func liveMemberEntries(now: Instant) -> [(key: Address, value: Member)] {
        let timeout = settings.proxyTimeout
        var live: [(key: Address, value: Member)] = []
        live.reserveCapacity(members.count)
        for entry in members where now - entry.value.lastHeard <= timeout { live.append(entry) }
        live.sort { $0.key < $1.key }
        return live
    }

    private mutating func stored<R: RandomSource>(
        _ reply: StoreReply, for purpose: Purpose, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        switch (purpose, reply) {
        case (.fetch, .task(let record?)):
            reconcile(record, context: context, random: &random, into: &effects)
        case (.sweep, .tasks(let tasks)):
            ownedCount = tasks.count
            let owned = Set(tasks.map(\.taskID))
            unplacedSince = unplacedSince.filter { owned.contains($0.key) }
            for task in tasks { reconcile(task, context: context, random: &random, into: &effects) }
        case (.claim(let taskID, let epoch, let owner), .write(let outcome)):
            claiming.remove(taskID)
            if outcome.isApplied { effects.append(.send(to: owner.proxy, .run(taskID: taskID, epoch: epoch, owner: owner))) }
        default:
            if case .claim(let taskID, _, _) = purpose { claiming.remove(taskID) }
        }
    }

    /// Makes sure a task this region owns has a live owner that knows it: reminds a live owner,
    /// or claims the task for the least-loaded live proxy.
    private mutating func reconcile<R: RandomSource>(
        _ task: TaskRecord, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        guard task.ownerRegion == settings.region.name, !task.status.isFinished, !claiming.contains(task.taskID) else { return }
        let now = context.now
        if let owner = task.owner, let member = members[owner.proxy], Incarnation.precedes(member.incarnation, owner.incarnation) {
            // The store names a later life of this proxy than any the region heard from (the
            // region restarted and an old life's heartbeat came first): that earlier life is
            // over. Remember the owner's life, not yet heard, so the earlier one's heartbeats are
            // ignored and its tasks are not claimed for it.
            members[owner.proxy] = Member(lastHeard: now - settings.proxyTimeout - .nanoseconds(1), incarnation: owner.incarnation, sequence: 0, workload: 0)
        }
        let live = liveMembers(now: now)
        if let owner = task.owner, live.contains(owner.proxy) {
            if members[owner.proxy]!.incarnation == owner.incarnation {
                // A reminder is harmless: the owner ignores a run it already has.
                effects.append(.send(to: owner.proxy, .run(taskID: task.taskID, epoch: task.epoch, owner: owner)))
                unplacedSince[task.taskID] = nil
                return
            }
        } else if !task.ownerProxy.isEmpty, now - startedAt < settings.proxyTimeout {
            return  // just (re)started: give the owner a chance to be heard before replacing it
        }
        guard !live.isEmpty else {
            let since = unplacedSince[task.taskID] ?? now
            unplacedSince[task.taskID] = since
            if now - since >= settings.placementTimeout {
                unplacedSince[task.taskID] = now
                let reason = "no live proxy in \(settings.region) for \((now - since).milliseconds) ms"
                effects.append(.send(to: settings.gateway, .cannotPlace(taskID: task.taskID, epoch: task.epoch, reason: reason)))
            }
            return
        }
        unplacedSince[task.taskID] = nil
        let loads = live.map { members[$0]!.workload + assignedSinceReport[$0, default: 0] }
        let lowest = loads.min()!
        let least = live.indices.filter { loads[$0] == lowest }.map { live[$0] }
        let proxy = least[random.index(below: least.count)]
        assignedSinceReport[proxy, default: 0] += 1
        let owner = Owner(proxy: proxy, incarnation: members[proxy]!.incarnation)
        let epoch = task.epoch.nextProxyClaim
        claiming.insert(task.taskID)
        calls.call(
            .claim(task.taskID, epoch: epoch, region: settings.region, owner: owner), for: .claim(task: task.taskID, epoch: epoch, owner: owner),
            into: &effects)
    }
}
