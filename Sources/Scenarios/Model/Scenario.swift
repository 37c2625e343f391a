import Core
import FakeLLM
import Sim

/// A scenario is data: topology, policies, workload, faults, network and phase lengths. It reads
/// and writes as JSON and is recorded whole in every trace header.
public struct Scenario: Codable, Hashable, Sendable {
    public var name: String
    public var topology: Topology
    public var policies: Policies
    public var workload: Workload
    public var faults: FaultSpec
    public var network: NetworkConfig
    public var phases: Phases
    /// Bounds a run must stay within, beyond the invariants (optional in a scenario file).
    public var budgets: Budgets?

    public init(
        name: String, topology: Topology = Topology(), policies: Policies = Policies(), workload: Workload = Workload(),
        faults: FaultSpec = FaultSpec(), network: NetworkConfig = NetworkConfig(), phases: Phases = Phases(), budgets: Budgets? = nil
    ) {
        self.name = name
        self.topology = topology
        self.policies = policies
        self.workload = workload
        self.faults = faults
        self.network = network
        self.phases = phases
        self.budgets = budgets
    }

    /// Why the scenario cannot run, in one line; nil when it can.
    public func problem() -> String? {
        guard (1...8).contains(topology.regions) else { return "topology.regions must be 1...8 (got \(topology.regions))" }
        guard (1...16).contains(topology.proxiesPerRegion) else { return "topology.proxiesPerRegion must be 1...16" }
        guard (1...16).contains(topology.llmEndpoints) else { return "topology.llmEndpoints must be 1...16" }
        guard topology.workerConcurrency >= 1, topology.workerQueue >= 0 else { return "topology worker sizes must be positive" }
        do { try topology.llm.validate() } catch { return "topology.llm: \(error)" }
        guard (1...64).contains(workload.clients) else { return "workload.clients must be 1...64" }
        guard (0...10_000).contains(workload.requestsPerClient) else { return "workload.requestsPerClient must be 0...10000" }
        guard workload.pollInterval.nanoseconds > 0 else { return "workload.pollInterval must be positive" }
        guard !workload.tasks.isEmpty else { return "workload.tasks must not be empty" }
        if let problem = workload.pattern.problem() { return "workload.pattern: \(problem)" }
        for (index, template) in workload.tasks.enumerated() {
            if case .failure(let rejection) = TaskPlan.validate(template.query(description: "t"), limits: QueryLimits()) {
                return "workload.tasks[\(index)]: \(rejection.reason)"
            }
        }
        do { try faults.mix.validate() } catch { return "faults.mix: \(error)" }
        guard phases.safety.nanoseconds > 0, phases.liveness.nanoseconds > 0 else { return "phases must be positive" }
        if let latency = budgets?.latency {
            for (name, bound) in [("mean", latency.mean), ("p99", latency.p99), ("max", latency.max)] {
                if let bound, bound.nanoseconds <= 0 { return "budgets.latency.\(name) must be positive" }
            }
        }
        return nil
    }
}

public struct Topology: Codable, Hashable, Sendable {
    public var regions: Int
    public var proxiesPerRegion: Int
    public var llmEndpoints: Int
    /// Every endpoint's fake LLM: a profile plus overrides.
    public var llm: FakeLLMConfig
    public var workerConcurrency: Int
    public var workerQueue: Int
    /// Admission control at the gateway: the unfinished tasks the cluster holds before new
    /// queries are refused as busy (nil: the gateway's default).
    public var openTasksMax: Int?

    public init(
        regions: Int = 2, proxiesPerRegion: Int = 2, llmEndpoints: Int = 2, llm: FakeLLMConfig = FakeLLMProfile.realistic.config,
        workerConcurrency: Int = 4, workerQueue: Int = 64
    ) {
        self.regions = regions
        self.proxiesPerRegion = proxiesPerRegion
        self.llmEndpoints = llmEndpoints
        self.llm = llm
        self.workerConcurrency = workerConcurrency
        self.workerQueue = workerQueue
    }

    /// What `agentos serve` runs with no flags: 2 regions x 2 proxies, one realistic fake-LLM
    /// endpoint, the workers' default concurrency and queue. `serve` takes its defaults from here,
    /// so the simulation of "a default serve" is this topology.
    public static let serveDefault = Topology(ClusterSpec.serveDefault)

    /// The topology of a cluster description, with the realistic fake LLM at every endpoint.
    public init(_ spec: ClusterSpec, llm: FakeLLMConfig = FakeLLMProfile.realistic.config) {
        self.init(
            regions: spec.regions, proxiesPerRegion: spec.proxiesPerRegion, llmEndpoints: spec.llmEndpoints, llm: llm,
            workerConcurrency: spec.workerConcurrency, workerQueue: spec.workerQueue)
        openTasksMax = spec.openTasksMax
    }

    /// The cluster this topology describes, with `policies`: what the run builds its roles from,
    /// exactly as `serve` does.
    public func clusterSpec(_ policies: Policies = Policies()) -> ClusterSpec {
        ClusterSpec(
            regions: regions, proxiesPerRegion: proxiesPerRegion, llmEndpoints: llmEndpoints, scheduling: policies.scheduling,
            balancing: policies.balancing, voting: policies.voting, workerConcurrency: workerConcurrency, workerQueue: workerQueue,
            openTasksMax: openTasksMax)
    }

    public var regionNames: [Address] { clusterSpec().regionNames }
    public func proxyNames(region: Int) -> [Address] { clusterSpec().proxyNames(region: region) }
    public var proxyNames: [Address] { clusterSpec().proxyNames }
    public var llmNames: [Address] { clusterSpec().llmNames }
}

public struct Policies: Codable, Hashable, Sendable {
    public var scheduling: SchedulingPolicy
    public var balancing: BalancingPolicy
    public var voting: VotingPolicy

    public init(scheduling: SchedulingPolicy = .fifo, balancing: BalancingPolicy = .leastLoaded, voting: VotingPolicy = .naive) {
        self.scheduling = scheduling
        self.balancing = balancing
        self.voting = voting
    }
}

/// The seed README's client patterns, plus the reference benchmark's open-loop Poisson arrivals.
public enum ClientPattern: Codable, Hashable, Sendable {
    /// Every request at once.
    case sendAll
    /// One request, then a random gap in `[min, max]` before the next.
    case sendInInterval(min: SimDuration, max: SimDuration)
    /// Bursts of `batch` requests, a random gap in `[min, max]` apart.
    case sendBatchInterval(min: SimDuration, max: SimDuration, batch: Int)
    /// Bursts of a random size in `[batchMin, batchMax]`, a random gap apart.
    case sendDynamicBatchInterval(min: SimDuration, max: SimDuration, batchMin: Int, batchMax: Int)
    /// Open-loop arrivals at `perHour` requests per hour on average (0.2 req/s = 720/h).
    case poisson(perHour: Int)

    func problem() -> String? {
        switch self {
        case .sendAll: return nil
        case .sendInInterval(let min, let max), .sendBatchInterval(let min, let max, _), .sendDynamicBatchInterval(let min, let max, _, _):
            guard min.nanoseconds >= 0, min <= max else { return "interval must satisfy 0 <= min <= max" }
            if case .sendBatchInterval(_, _, let batch) = self, batch < 1 { return "batch must be at least 1" }
            if case .sendDynamicBatchInterval(_, _, let low, let high) = self, low < 1 || low > high { return "batch range must satisfy 1 <= min <= max" }
            return nil
        case .poisson(let perHour):
            return (1...3_600_000).contains(perHour) ? nil : "perHour must be 1...3600000"
        }
    }
}

/// The kind of task a request asks for.
public struct TaskTemplate: Codable, Hashable, Sendable {
    public var name: String
    public var rounds: Int
    public var samples: Int
    public var voters: Int
    public var graph: TaskGraph?

    public init(name: String = "code_generation", rounds: Int, samples: Int, voters: Int, graph: TaskGraph? = nil) {
        self.name = name
        self.rounds = rounds
        self.samples = samples
        self.voters = voters
        self.graph = graph
    }

    public func query(description: String) -> Query {
        Query(taskName: name, taskDescription: description, nRounds: rounds, nSamples: samples, nVoters: voters, graph: graph)
    }

    /// The reference benchmark's five code-generation tasks, (R, S, V).
    public static let referenceBenchmark: [TaskTemplate] = [(3, 5, 5), (3, 3, 3), (2, 3, 3), (3, 4, 3), (3, 5, 3)].map {
        TaskTemplate(rounds: $0.0, samples: $0.1, voters: $0.2)
    }
}

public struct Workload: Codable, Hashable, Sendable {
    public var clients: Int
    public var requestsPerClient: Int
    public var pattern: ClientPattern
    /// How often a client asks for the status of each of its tasks (the seed's 3 seconds).
    public var pollInterval: SimDuration
    /// Request k uses template k mod count.
    public var tasks: [TaskTemplate]

    public init(
        clients: Int = 1, requestsPerClient: Int = 4, pattern: ClientPattern = .sendAll, pollInterval: SimDuration = .seconds(3),
        tasks: [TaskTemplate] = [TaskTemplate(rounds: 2, samples: 3, voters: 3)]
    ) {
        self.clients = clients
        self.requestsPerClient = requestsPerClient
        self.pattern = pattern
        self.pollInterval = pollInterval
        self.tasks = tasks
    }
}

/// Which roles faults may hit, and how often.
public struct FaultSpec: Codable, Hashable, Sendable {
    public var mix: FaultMix
    public var targetProxies: Bool
    public var targetRegions: Bool
    public var targetGateway: Bool
    public var targetStore: Bool
    public var targetLLMs: Bool
    /// Faults at fixed times, on top of the drawn ones.
    public var fixed: [FaultEntry]

    public init(
        mix: FaultMix = .none, targetProxies: Bool = true, targetRegions: Bool = false, targetGateway: Bool = false,
        targetStore: Bool = false, targetLLMs: Bool = false, fixed: [FaultEntry] = []
    ) {
        self.mix = mix
        self.targetProxies = targetProxies
        self.targetRegions = targetRegions
        self.targetGateway = targetGateway
        self.targetStore = targetStore
        self.targetLLMs = targetLLMs
        self.fixed = fixed
    }

    func targets(_ topology: Topology) -> [String] {
        var names: [String] = []
        if targetGateway { names.append("gateway") }
        if targetStore { names.append("store") }
        if targetRegions { names += topology.regionNames }
        if targetProxies { names += topology.proxyNames }
        if targetLLMs { names += topology.llmNames }
        return names
    }
}

/// What a run must stay within besides the invariants.
public struct Budgets: Codable, Hashable, Sendable {
    /// Client-observed task latency, submit to final status.
    public var latency: LatencyBudget?

    public init(latency: LatencyBudget? = nil) { self.latency = latency }
}

public struct Phases: Codable, Hashable, Sendable {
    /// Faults on, clients sending.
    public var safety: SimDuration
    /// Faults healed; every acknowledged task must finish within this budget.
    public var liveness: SimDuration
    /// When set, the run stops at the first violation of this invariant that the checkers see
    /// while it runs, so a trace of a safety failure ends where the failure is (the shrinker
    /// sets it on the traces it writes). The checkers that judge how a run ended are skipped.
    public var stopAt: Invariant?

    public init(safety: SimDuration = .seconds(120), liveness: SimDuration = .seconds(600), stopAt: Invariant? = nil) {
        self.safety = safety
        self.liveness = liveness
        self.stopAt = stopAt
    }
}

extension Array where Element == FaultEntry {
    /// The nodes a timeline kills for good.
    public var killedNodes: Set<String> {
        Set(compactMap { entry -> String? in if case .kill(let node) = entry.action { node } else { nil } })
    }
}
