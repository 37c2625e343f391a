/// One description of a cluster: its shape, its policies and its knobs. Both shells build their
/// roles from it: the simulator (a scenario's topology and policies become one) and `agentos
/// serve` (a cluster file or the command's flags become one), and so does `CoreTesting`. Every
/// role's settings are derived here and nowhere else, so the two shells cannot drift apart.
public struct ClusterSpec: Codable, Hashable, Sendable {
    public var regions: Int
    public var proxiesPerRegion: Int
    /// LLM endpoints, `llm-1` ... `llm-N`. Each proxy starts at its own endpoint and falls back
    /// to the others in turn.
    public var llmEndpoints: Int
    public var scheduling: SchedulingPolicy
    public var balancing: BalancingPolicy
    public var voting: VotingPolicy
    /// LLM calls each proxy's worker makes at once, and calls it queues beyond those.
    public var workerConcurrency: Int
    public var workerQueue: Int
    /// Attempts each worker makes again after a failed LLM call before it answers the owner
    /// with the failure (nil: the worker's default). At 0 every failed call reaches its owner,
    /// which sends it to another worker.
    public var workerRetries: Int?
    /// Admission control at the gateway (nil: the gateway's default).
    public var openTasksMax: Int?
    public var checkpoints: CheckpointPolicy
    public var timings: RecoveryTimings

    public init(
        regions: Int = 2, proxiesPerRegion: Int = 2, llmEndpoints: Int = 1, scheduling: SchedulingPolicy = .fifo,
        balancing: BalancingPolicy = .leastLoaded, voting: VotingPolicy = .naive, workerConcurrency: Int = LLMWorkerSettings().concurrency,
        workerQueue: Int = LLMWorkerSettings().queueCapacity, workerRetries: Int? = nil, openTasksMax: Int? = nil,
        checkpoints: CheckpointPolicy = .perNode, timings: RecoveryTimings = RecoveryTimings()
    ) {
        self.workerRetries = workerRetries
        self.checkpoints = checkpoints
        self.timings = timings
        self.regions = regions
        self.proxiesPerRegion = proxiesPerRegion
        self.llmEndpoints = llmEndpoints
        self.scheduling = scheduling
        self.balancing = balancing
        self.voting = voting
        self.workerConcurrency = workerConcurrency
        self.workerQueue = workerQueue
        self.openTasksMax = openTasksMax
    }

    /// What `agentos serve` runs with no flags.
    /// What `serve` runs with no cluster file or flags. Owners checkpoint every round, as the
    /// reference does, so a client polling a multi-round task sees `round` advance.
    public static let serveDefault = ClusterSpec(checkpoints: .perRound)

    public var regionNames: [Address] { (1...regions).map { .region($0) } }
    public func proxyNames(region: Int) -> [Address] { (1...proxiesPerRegion).map { .proxy(region: region, index: $0) } }
    public var proxyNames: [Address] { (1...regions).flatMap { proxyNames(region: $0) } }
    public var llmNames: [Address] { (1...llmEndpoints).map { .llm($0) } }
    /// Every Core role, in start order.
    public var roleNames: [Address] { [.store, .gateway] + regionNames + proxyNames }

    /// The region a proxy of this cluster belongs to.
    public func region(of proxy: Address) -> Address? {
        guard case .proxy(let region, let index)? = Role(proxy), (1...regions).contains(region), (1...proxiesPerRegion).contains(index) else {
            return nil
        }
        return .region(region)
    }

    /// Why the description cannot run, in one line.
    public func problem() -> String? {
        guard (1...8).contains(regions) else { return "regions must be between 1 and 8, got \(regions)" }
        guard (1...16).contains(proxiesPerRegion) else { return "proxies per region must be between 1 and 16, got \(proxiesPerRegion)" }
        guard (1...16).contains(llmEndpoints) else { return "LLM endpoints must be between 1 and 16, got \(llmEndpoints)" }
        guard (1...64).contains(workerConcurrency) else { return "worker concurrency must be between 1 and 64, got \(workerConcurrency)" }
        guard (1...100_000).contains(workerQueue) else { return "worker queue must be between 1 and 100000, got \(workerQueue)" }
        if let workerRetries, !(0...10).contains(workerRetries) { return "worker retries must be between 0 and 10, got \(workerRetries)" }
        if let openTasksMax, !(1...10_000_000).contains(openTasksMax) { return "openTasksMax must be between 1 and 10000000, got \(openTasksMax)" }
        return timings.problem()
    }

    public var gatewaySettings: GatewaySettings {
        // A region is failed over after three heartbeat intervals of silence, as the reference's
        // monitor drops a member: a fixed 3 s was that at the default 1 s heartbeat, but only
        // one and a half intervals at the reference's own 2 s, where one lost heartbeat moved
        // a region's tasks away (found by a guided search of the swarm).
        var settings = GatewaySettings(regions: regionNames, regionTimeout: timings.heartbeat * 3)
        if let openTasksMax { settings.openTasksMax = openTasksMax }
        return settings
    }

    public func regionSettings(_ region: Address) -> RegionSettings {
        RegionSettings(region: region, heartbeatInterval: timings.heartbeat, proxyTimeout: timings.proxyEviction, sweepInterval: timings.regionSweep)
    }

    public var workerSettings: LLMWorkerSettings {
        var settings = LLMWorkerSettings(queueCapacity: workerQueue, concurrency: workerConcurrency, scheduling: scheduling)
        if let workerRetries { settings.retries = workerRetries }
        return settings
    }

    /// A proxy's settings; nil for an address that is not one of the cluster's proxies.
    public func proxySettings(_ proxy: Address) -> ProxySettings? {
        guard let region = region(of: proxy), let index = proxyNames.firstIndex(of: proxy) else { return nil }
        let names = llmNames
        let first = index % names.count
        let llms = Array(names[first...] + names[..<first])
        return ProxySettings(
            proxy: proxy, region: region, llm: llms[0], llmFallbacks: Array(llms.dropFirst()), heartbeatInterval: timings.heartbeat,
            balancing: balancing, voting: voting, worker: workerSettings, checkpoints: checkpoints)
    }
}
