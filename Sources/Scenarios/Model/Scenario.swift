import Checks
import Core
import FakeLLM
import Sim

/// A scenario is data: the cluster, its fake LLM, the workload, faults, network and phase
/// lengths. It reads and writes as JSON and is recorded whole in every trace header.
///
/// The cluster is the very `ClusterSpec` `serve` runs from a cluster file: the run builds its
/// roles from it through the same factory, so the simulated cluster and the real one cannot
/// drift apart. A scenario file keeps its two sections, `topology` (the cluster's shape, its
/// worker knobs and timings, and the fake LLM) and `policies` (scheduling, balancing, voting,
/// checkpoints); `ScenarioFile` reads and writes them (see `Scenario+File.swift`).
public struct Scenario: Hashable, Sendable {
    public var name: String
    /// The cluster the run builds its roles from.
    public var cluster: ClusterSpec
    /// Every LLM endpoint's fake LLM: a profile plus overrides.
    public var llm: FakeLLMConfig
    public var workload: Workload
    public var faults: FaultSpec
    public var network: NetworkConfig
    public var phases: Phases
    /// Bounds a run must stay within, beyond the invariants (optional in a scenario file).
    public var budgets: Budgets?

    /// A scenario's cluster unless it says otherwise: 2 regions x 2 proxies, two LLM endpoints,
    /// four calls at once per worker and 64 queued, per-node checkpoints.
    public static let defaultCluster = ClusterSpec(llmEndpoints: 2, workerConcurrency: 4, workerQueue: 64)

    /// A cluster of this shape, otherwise `defaultCluster`.
    public static func cluster(regions: Int, proxiesPerRegion: Int, llmEndpoints: Int, workerConcurrency: Int = 4, workerQueue: Int = 64) -> ClusterSpec {
        ClusterSpec(
            regions: regions, proxiesPerRegion: proxiesPerRegion, llmEndpoints: llmEndpoints, workerConcurrency: workerConcurrency,
            workerQueue: workerQueue)
    }

    public init(
        name: String, cluster: ClusterSpec = Scenario.defaultCluster, llm: FakeLLMConfig = FakeLLMProfile.realistic.config,
        workload: Workload = Workload(), faults: FaultSpec = FaultSpec(), network: NetworkConfig = NetworkConfig(), phases: Phases = Phases(),
        budgets: Budgets? = nil
    ) {
        self.name = name
        self.cluster = cluster
        self.llm = llm
        self.workload = workload
        self.faults = faults
        self.network = network
        self.phases = phases
        self.budgets = budgets
    }

    /// Takes the shape of `spec` (its sizes, worker knobs, admission limit and timings) and keeps
    /// this scenario's policies: "this workload on that cluster".
    public mutating func reshape(like spec: ClusterSpec) {
        let kept = cluster
        cluster = spec
        cluster.scheduling = kept.scheduling
        cluster.balancing = kept.balancing
        cluster.voting = kept.voting
        cluster.checkpoints = kept.checkpoints
    }

    /// The workload's clients, `client-1` ... `client-N`.
    public var clientAddresses: [Address] { (1...workload.clients).map { .client($0) } }

    /// Every simulated node's name, in the order a run creates them: the roles, the LLM
    /// endpoints, the clients.
    public var nodeNames: [String] {
        ([.store, .gateway] + cluster.regionNames + cluster.proxyNames + cluster.llmNames + clientAddresses).map(\.name)
    }

    /// Why the scenario cannot run, in one line, named by the scenario file's fields; nil when
    /// it can.
    public func problem() -> String? {
        guard (1...8).contains(cluster.regions) else { return "topology.regions must be 1...8 (got \(cluster.regions))" }
        guard (1...16).contains(cluster.proxiesPerRegion) else { return "topology.proxiesPerRegion must be 1...16" }
        guard (1...16).contains(cluster.llmEndpoints) else { return "topology.llmEndpoints must be 1...16" }
        guard cluster.workerConcurrency >= 1, cluster.workerQueue >= 0 else { return "topology worker sizes must be positive" }
        if let retries = cluster.workerRetries, !(0...10).contains(retries) { return "topology.workerRetries must be 0...10" }
        do { try llm.validate() } catch { return "topology.llm: \(error)" }
        guard (1...64).contains(workload.clients) else { return "workload.clients must be 1...64" }
        guard (0...10_000).contains(workload.requestsPerClient) else { return "workload.requestsPerClient must be 0...10000" }
        guard workload.pollInterval.nanoseconds > 0 else { return "workload.pollInterval must be positive" }
        guard !workload.tasks.isEmpty else { return "workload.tasks must not be empty" }
        if let problem = workload.pattern.problem() { return "workload.pattern: \(problem)" }
        if case .arrivals(_, let tasks) = workload.pattern, let bad = tasks.first(where: { !workload.tasks.indices.contains($0) }) {
            return "workload.pattern: arrivals name task \(bad), but the workload has \(workload.tasks.count)"
        }
        if case .arrivals(let times, _) = workload.pattern, workload.requestsPerClient > times.count {
            return "workload.requestsPerClient (\(workload.requestsPerClient)) exceeds the \(times.count) arrivals listed"
        }
        if let sendFor = workload.sendFor, sendFor.nanoseconds <= 0 { return "workload.sendFor must be positive" }
        if let problem = cluster.timings.problem() { return "topology.timings: \(problem)" }
        if let rolling = faults.rolling, let problem = rolling.problem() { return "faults.rolling: \(problem)" }
        for (index, template) in workload.tasks.enumerated() {
            if case .failure(let rejection) = TaskPlan.validate(template.query(description: "t"), limits: QueryLimits()) {
                return "workload.tasks[\(index)]: \(rejection.reason)"
            }
        }
        do { try faults.mix.validate() } catch { return "faults.mix: \(error)" }
        guard phases.safety.nanoseconds > 0, phases.liveness.nanoseconds > 0 else { return "phases must be positive" }
        if let livenessMin = phases.livenessMin, livenessMin.nanoseconds <= 0 { return "phases.livenessMin must be positive" }
        if let latency = budgets?.latency {
            for (name, bound) in [("mean", latency.mean), ("p99", latency.p99), ("max", latency.max), ("meanMin", latency.meanMin), ("p50Min", latency.p50Min)] {
                if let bound, bound.nanoseconds <= 0 { return "budgets.latency.\(name) must be positive" }
            }
        }
        return nil
    }
}

/// The seed README's client patterns, plus the reference benchmark's open-loop Poisson arrivals.
public enum ClientPattern: Codable, Hashable, Sendable {
    /// Every request at once.
    case sendAll
    /// One request, then a random gap in `[min, max]` before the next.
    case sendInInterval(min: Interval, max: Interval)
    /// Bursts of `batch` requests, a random gap in `[min, max]` apart.
    case sendBatchInterval(min: Interval, max: Interval, batch: Int)
    /// Bursts of a random size in `[batchMin, batchMax]`, a random gap apart.
    case sendDynamicBatchInterval(min: Interval, max: Interval, batchMin: Int, batchMax: Int)
    /// Open-loop arrivals at `perHour` requests per hour on average (0.2 req/s = 720/h).
    case poisson(perHour: Int)
    /// An explicit list: request k arrives `atMillis[k]` after the start and asks for template
    /// `tasks[k]` (an index into the workload's tasks). A recorded benchmark's arrivals, replayed.
    case arrivals(atMillis: [Int64], tasks: [Int])

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
        case .arrivals(let times, let tasks):
            guard times.count == tasks.count else { return "arrivals: atMillis and tasks must have the same length" }
            guard zip(times, times.dropFirst()).allSatisfy({ $0 <= $1 }), (times.first ?? 0) >= 0 else { return "arrivals: atMillis must be non-negative and sorted" }
            return nil
        }
    }

    /// The template request `index` asks for, among `count`.
    func template(for index: Int, count: Int) -> Int {
        if case .arrivals(_, let tasks) = self, tasks.indices.contains(index) { return tasks[index] % count }
        return index % count
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
    public var pollInterval: Interval
    /// Request k uses template k mod count (or the one an `arrivals` list names).
    public var tasks: [TaskTemplate]
    /// Time-bounded arrivals: no request is sent this long after the start or later, even if
    /// `requestsPerClient` is not reached (nil: until `requestsPerClient`).
    public var sendFor: Interval?
    /// A real run's requests, replayed (`agentos replay-real`): each client sends exactly its
    /// own recorded queries at their recorded times, and `pattern` and `tasks` are not used.
    public var recorded: [RecordedRequest]?

    public init(
        clients: Int = 1, requestsPerClient: Int = 4, pattern: ClientPattern = .sendAll, pollInterval: Interval = .seconds(3),
        tasks: [TaskTemplate] = [TaskTemplate(rounds: 2, samples: 3, voters: 3)]
    ) {
        self.clients = clients
        self.requestsPerClient = requestsPerClient
        self.pattern = pattern
        self.pollInterval = pollInterval
        self.tasks = tasks
    }
}

/// One request of a recorded run: which client sent it, when (virtual milliseconds from the
/// start), and the query exactly as sent (its description and idempotency key included).
public struct RecordedRequest: Codable, Hashable, Sendable {
    public var client: String
    public var atMillis: Int64
    public var query: Query

    public init(client: String, atMillis: Int64, query: Query) {
        self.client = client
        self.atMillis = atMillis
        self.query = query
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
    /// The reference's fault injector: a random live victim killed periodically, restarted later.
    public var rolling: RollingKill?

    public init(
        mix: FaultMix = .none, targetProxies: Bool = true, targetRegions: Bool = false, targetGateway: Bool = false,
        targetStore: Bool = false, targetLLMs: Bool = false, fixed: [FaultEntry] = [], rolling: RollingKill? = nil
    ) {
        self.rolling = rolling
        self.mix = mix
        self.targetProxies = targetProxies
        self.targetRegions = targetRegions
        self.targetGateway = targetGateway
        self.targetStore = targetStore
        self.targetLLMs = targetLLMs
        self.fixed = fixed
    }

    /// The simulated nodes faults may hit, by name.
    func targets(_ topology: ClusterSpec) -> [String] {
        var roles: [Address] = []
        if targetGateway { roles.append(.gateway) }
        if targetStore { roles.append(.store) }
        if targetRegions { roles += topology.regionNames }
        if targetProxies { roles += topology.proxyNames }
        if targetLLMs { roles += topology.llmNames }
        return roles.map(\.name)
    }
}

/// Every `every`, a random live node of `role` crashes (SIGKILL: its state and in-flight work
/// are lost) and restarts `down` later; repeated for the whole run, also while tasks drain.
public struct RollingKill: Codable, Hashable, Sendable {
    public enum Role: String, Codable, Sendable {
        case proxy, region, llm
    }

    public var role: Role
    public var every: Interval
    public var down: Interval
    /// When set, the injector works as the reference's does: it sleeps `every`, kills, waits
    /// `down`, restarts the victim and waits until it is ready (this long) before it sleeps
    /// again, so kills come every `every + down + readyAfter`, not every `every`. At 30 s that
    /// is 40 % fewer kills. Nil: a kill every `every`.
    public var readyAfter: Interval?

    public init(role: Role = .proxy, every: Interval, down: Interval, readyAfter: Interval? = nil) {
        self.role = role
        self.every = every
        self.down = down
        self.readyAfter = readyAfter
    }

    func problem() -> String? {
        guard every.nanoseconds > 0, down.nanoseconds > 0 else { return "every and down must be positive" }
        if let readyAfter, readyAfter.nanoseconds < 0 { return "readyAfter must not be negative" }
        return nil
    }

    func victims(_ topology: ClusterSpec) -> [String] {
        switch role {
        case .proxy: topology.proxyNames.map(\.name)
        case .region: topology.regionNames.map(\.name)
        case .llm: topology.llmNames.map(\.name)
        }
    }

    /// The timeline from the start to `until`: at k x `every` (k >= 1; with `readyAfter`, each
    /// interval after the previous victim is back and ready), a victim drawn among the nodes
    /// not down at that moment crashes, and restarts `down` later.
    func plan(_ topology: ClusterSpec, until: Instant, random: inout SimRandom) -> [FaultEntry] {
        let candidates = victims(topology)
        var entries: [FaultEntry] = []
        var downUntil: [String: Instant] = [:]
        var at = Instant.zero + every
        while at < until {
            let live = candidates.filter { (downUntil[$0] ?? .zero) <= at }
            if !live.isEmpty {
                let victim = live[random.index(below: live.count)]
                entries.append(FaultEntry(at: at, action: .crash(node: victim)))
                entries.append(FaultEntry(at: at + down, action: .restart(node: victim)))
                downUntil[victim] = at + down
            }
            if let readyAfter { at = at + down + readyAfter }
            at = at + every
        }
        return entries
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
    public var safety: Interval
    /// Faults healed; every acknowledged task must finish within this budget.
    public var liveness: Interval
    /// When set, the run stops at the first violation of this invariant that the checkers see
    /// while it runs, so a trace of a safety failure ends where the failure is (the shrinker
    /// sets it on the traces it writes). The checkers that judge how a run ended are skipped.
    public var stopAt: Invariant?
    /// When true, the run ends as soon as every client has seen every task it sent finish, even
    /// within the safety phase: faults keep coming until then, as in a benchmark that injects
    /// faults for as long as it runs. The safety phase is then the run's budget.
    public var endWhenDone: Bool?
    /// The shortest liveness budget the scenario's tasks need on the correct code, which the
    /// shrinker never goes below (nil: derived, `Scenario.livenessRequired`).
    public var livenessMin: Interval?

    public init(
        safety: Interval = .seconds(120), liveness: Interval = .seconds(600), stopAt: Invariant? = nil, endWhenDone: Bool? = nil,
        livenessMin: Interval? = nil
    ) {
        self.safety = safety
        self.liveness = liveness
        self.stopAt = stopAt
        self.endWhenDone = endWhenDone
        self.livenessMin = livenessMin
    }
}

extension Array where Element == FaultEntry {
    /// The nodes a timeline kills for good.
    public var killedNodes: Set<String> {
        Set(compactMap { entry -> String? in if case .kill(let node) = entry.action { node } else { nil } })
    }
}
