import Checks
import Core
import FakeLLM
import SQLiteStore
import Sim

/// Replacements for roles, for tests that plant bugs (a store that accepts stale epochs, a
/// gateway that forgets): the shipped roles are used unless a test says otherwise.
public struct RoleOverrides {
    public var store: ((TaskStore) -> any CoreMachine)?
    public var gateway: ((GatewaySettings, UInt32) -> any CoreMachine)?
    public var proxy: ((ProxySettings, UInt32) -> any CoreMachine)?
    public var region: ((RegionSettings, UInt32) -> any CoreMachine)?
    /// How the store's file is opened on the simulated disk (the real shell's by default).
    public var storeFile: StoreFileSettings = .durable

    public init(
        store: ((TaskStore) -> any CoreMachine)? = nil, gateway: ((GatewaySettings, UInt32) -> any CoreMachine)? = nil,
        proxy: ((ProxySettings, UInt32) -> any CoreMachine)? = nil, region: ((RegionSettings, UInt32) -> any CoreMachine)? = nil
    ) {
        self.store = store
        self.gateway = gateway
        self.proxy = proxy
        self.region = region
    }

    public static var none: RoleOverrides { RoleOverrides() }

    /// The role factory with these replacements (the store's is handed the run's store file).
    func factory(store file: StoreFile) -> RoleFactory {
        var factory = RoleFactory.standard
        if let store { factory.store = { _ in store(file.store) } }
        if let gateway { factory.gateway = gateway }
        if let region { factory.region = region }
        if let proxy { factory.proxy = proxy }
        return factory
    }
}

/// The trace header's world name for scenario runs.
public let scenarioWorldName = "agentos-scenario"

/// A built run, ready to execute: the simulation, its durable store, and its observer.
public final class ScenarioRun {
    public let scenario: Scenario
    public let seed: UInt64
    public let faults: [FaultEntry]
    public let simulation: Simulation<CoreWorld>
    /// The simulated disk under the store, and the store's file on it, opened by the store
    /// process at each (re)start with the real shell's opening code.
    public let disk: SimDisk
    let storeFile: StoreFile
    /// The store as the current life of the store process has it open.
    public var store: TaskStore { storeFile.store }
    let observer: RunObserver
    var writer: TraceWriter<CoreWorld>?

    /// Whether the run counts its marks (`RunReport.marks`); on unless turned off before
    /// `execute`. Counting only reads, so it never changes the run or its hash.
    public var countsMarks: Bool {
        get { observer.countsMarks }
        set { observer.countsMarks = newValue }
    }

    /// Whether the run computes its state signature (`RunReport.signature`); off unless a
    /// guided search asks. Like the marks, it only reads.
    public var countsSignature: Bool {
        get { observer.signature != nil }
        set { observer.signature = newValue ? StateSignature(directory: observer.directory) : nil }
    }

    /// Builds the run. Without `faults`, the timeline is drawn from the seed and the scenario's
    /// fault mix (plus its fixed faults).
    /// `cassette`: recorded LLM calls that answer the run's calls first (`run --cassette`).
    public init(scenario: Scenario, seed: UInt64, faults: [FaultEntry]? = nil, overrides: RoleOverrides = .none, cassette: Cassette? = nil) throws {
        if let problem = scenario.problem() { throw ScenarioError.invalid(problem) }
        self.scenario = scenario
        self.seed = seed
        self.faults = faults ?? Self.plannedFaults(scenario: scenario, seed: seed)
        let disk = SimDisk()
        self.disk = disk
        let storeFile = try StoreFile(disk: disk, settings: overrides.storeFile)
        self.storeFile = storeFile
        let clients = scenario.clientAddresses
        let directory = Directory(names: scenario.nodeNames)
        observer = RunObserver(directory: directory, context: Self.checkContext(scenario: scenario, clients: clients, faults: self.faults), cluster: scenario.cluster)

        var specs: [NodeSpec<CoreWorld>] = []
        func core(_ role: Address, _ make: @escaping (UInt32) -> any CoreMachine) {
            specs.append(NodeSpec(role.name) { boot in
                CoreProcess(machine: make(boot.incarnation), address: role, incarnation: boot.incarnation, directory: directory)
            })
        }
        // Every role's settings come from the one cluster description `serve` uses too, and
        // every role is made by the one factory (a planted bug replaces a role there).
        let spec = scenario.cluster
        let factory = overrides.factory(store: storeFile)
        for role in spec.roleNames {
            core(role) { incarnation in
                spec.machine(for: role, incarnation: incarnation, factory: factory) {
                    // A restarted store process opens the file again: SQLite recovers from what
                    // the disk kept (all of it after a crash, only what was synced after a power loss).
                    if incarnation > 1 { storeFile.reopen() }
                    return storeFile.store
                }!
            }
        }
        for llm in spec.llmNames {
            let config = scenario.llm
            specs.append(NodeSpec(llm.name) { _ in LLMEndpointProcess(config: config, name: llm.name, cassette: cassette) })
        }
        let gateway = directory.id(Address.gateway)
        for client in clients {
            let workload = scenario.workload
            specs.append(NodeSpec(client.name) { _ in ClientProcess(name: client.name, workload: workload, gateway: gateway) })
        }
        do {
            simulation = try Simulation(seed: seed, network: scenario.network, nodes: specs, faults: self.faults)
        } catch let error as SimConfigError {
            throw ScenarioError.invalid(error.description)
        }
        let observer = self.observer
        var powerLosses: UInt64 = 0
        // Read once here: the sink runs for every event, and each read through `unowned self`
        // is an atomic retain and release.
        let stopAt = scenario.phases.stopAt
        simulation.eventSink = { [unowned self] entry in
            if case .fault(.powerLoss(let node)) = entry.event, node == Address.store.name {
                powerLosses += 1
                var random = SimRandom(seed: seed, stream: .diskPowerLoss(powerLosses))
                if storeFile.losePower(random: &random), observer.countsMarks {
                    observer.marks.now = entry.time
                    observer.marks.hit(.tornWriteAtPowerLoss)
                }
            }
            observer.observe(entry)
            self.writer?.write(entry)
            if let stopAt, case .observe = entry.event, !self.cut,
                observer.checkers.checkers.contains(where: { $0.invariant == stopAt && !$0.violations.isEmpty })
            {
                self.cut = true
                self.simulation.requestStop()
            }
        }
    }

    /// What the checkers are told of the run: its clients, when faults heal, and the roles'
    /// documented retry settings and budgets (the defaults the run builds the roles with).
    static func checkContext(scenario: Scenario, clients: [Address], faults: [FaultEntry]) -> CheckContext {
        let proxy = ProxySettings(proxy: "", region: "", llm: "")
        let gateway = GatewaySettings(regions: [.region(1)])
        // Nodes killed for good: the heal does not bring them back, so they say whether any
        // region can still serve, and whether any LLM still answers, after the heal.
        let killed = faults.killedNodes
        let topology = scenario.cluster
        let llmsAnswer = topology.llmNames.contains { !killed.contains($0.name) }
        let regionServes = topology.regionNames.enumerated().contains { index, region in
            !killed.contains(region.name) && topology.proxyNames(region: index + 1).contains { !killed.contains($0.name) }
        }
        var context = CheckContext(
            clients: clients, healAt: .zero + scenario.phases.safety, roundAttemptsMin: proxy.roundRetries + 1,
            llmUnavailableAfter: proxy.llmUnavailableAfter, noRegionAfter: gateway.noRegionAfter, regionServesAfterHeal: regionServes && llmsAnswer,
            llmsAnswerAfterHeal: llmsAnswer, latencyBudget: scenario.budgets?.latency)
        context.parentsSavedBeforeUse = scenario.cluster.checkpoints != CheckpointPolicy.none
        context.openTasksMax = topology.gatewaySettings.openTasksMax
        context.queryLimits = topology.gatewaySettings.limits
        return context
    }

    /// The seed's fault timeline: drawn over the safety phase, from 5 s in (once the cluster
    /// has formed), plus the scenario's fixed faults.
    public static func plannedFaults(scenario: Scenario, seed: UInt64, redrawn: [(at: Instant, seed: UInt64)] = []) -> [FaultEntry] {
        // The seed's drawn faults, or with `redrawn` (a guided branch that draws its faults
        // afresh) the seed's up to the first moment, then each moment's own draw: an episode,
        // a fault and its undo, belongs whole to the draw it began in.
        let draws = [(at: Instant.zero, seed: seed)] + redrawn
        var drawn: [FaultEntry] = []
        for (index, draw) in draws.enumerated() {
            var random = SimRandom(seed: draw.seed, stream: .faults)
            let until = index + 1 < draws.count ? draws[index + 1].at : .nanoseconds(.max)
            for episode in FaultPlanner.episodes(
                mix: scenario.faults.mix, nodes: scenario.faults.targets(scenario.cluster), from: .zero + .seconds(5),
                until: .zero + scenario.phases.safety, random: &random) where episode.fault.at >= draw.at && episode.fault.at < until
            {
                drawn += [episode.fault, episode.undo]
            }
        }
        drawn = FaultPlanner.sortedStable(drawn)
        var rolling: [FaultEntry] = []
        if let kill = scenario.faults.rolling {
            var stream = SimRandom(seed: seed, stream: .rollingFaults)
            rolling = kill.plan(scenario.cluster, until: .zero + scenario.phases.safety, random: &stream)
        }
        return FaultPlanner.sortedStable(drawn + scenario.faults.fixed + rolling)
    }

    public var header: TraceHeader<Scenario> {
        TraceHeader(world: scenarioWorldName, seed: seed, network: scenario.network, faults: faults, config: scenario)
    }

    /// Streams the trace to `path` from now on.
    public func record(to path: String) throws {
        writer = try TraceWriter(path: path, header: header, names: simulation.names)
    }

    /// The safety phase, then the liveness phase; then the final audit.
    /// Every task's client-observed latency (virtual nanoseconds), in the order clients saw them final.
    public var latencies: [Int64] { observer.latencies }
    /// When each of them was seen final (virtual nanoseconds), in the same order.
    public var finishTimes: [Int64] { observer.finishTimes }

    public func execute() throws -> RunReport {
        drive()
        let snapshot = try StoreSnapshot(store: store)
        let converged = livenessResult?.converged ?? false
        // The trace ends with what its events alone do not say, so `agentos check` can judge
        // the file as this run judges itself.
        try writer?.finish(simulation: simulation, snapshot: RecordedEnd(snapshot, converged: converged, cut: cut))
        writer = nil
        return observer.verdict(
            scenario: scenario.name, seed: seed, snapshot: snapshot, end: simulation.now, converged: converged, cut: cut,
            events: simulation.eventCount, steps: simulation.stepCount, hash: simulation.fingerprintHex)
    }

    var livenessResult: LivenessResult?

    /// Whether the run was cut at the first violation of `phases.stopAt`.
    public private(set) var cut = false

    /// Runs both phases (also what an exact replay re-runs).
    public func drive() {
        let observer = self.observer
        let clients = scenario.workload.clients
        if scenario.phases.endWhenDone == true {
            // Faults keep coming until every client is done; the heal then finds nothing to do.
            simulation.run(until: .zero + scenario.phases.safety, condition: { observer.converged(clients: clients) })
        } else {
            simulation.run(until: .zero + scenario.phases.safety)
        }
        guard !cut else { return }
        livenessResult = simulation.healAndAwait(budget: scenario.phases.liveness) { observer.converged(clients: clients) }
    }
}

/// The store's SQLite file on the simulated disk, and the connection the store process has open.
final class StoreFile {
    let disk: SimDisk
    let settings: StoreFileSettings
    private(set) var store: TaskStore

    init(disk: SimDisk, settings: StoreFileSettings) throws {
        self.disk = disk
        self.settings = settings
        store = try TaskStore(path: disk.path("agentos.sqlite"), settings: settings, soleConnection: true)
    }

    /// The store process restarted: its old connection died with it (never closed cleanly),
    /// and the new life opens the file again.
    func reopen() {
        disk.processDied(connection: store)
        do {
            store = try TaskStore(path: disk.path("agentos.sqlite"), settings: settings, soleConnection: true)
        } catch {
            // The file is beyond SQLite's recovery (possible only with unsafe settings): the
            // operator starts over with an empty store, and the checkers see what was lost.
            disk.wipe()
            store = try! TaskStore(path: disk.path("agentos.sqlite"), settings: settings, soleConnection: true)
        }
    }

    /// Power lost: the store process's connection dies, and the disk keeps only what was synced.
    /// Returns whether a write was torn.
    func losePower(random: inout SimRandom) -> Bool {
        disk.processDied(connection: store)
        return disk.losePower(random: &random)
    }
}

public enum ScenarioError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case unknownScenario(String, known: [String])

    public var description: String {
        switch self {
        case .invalid(let reason): "invalid scenario: \(reason)"
        case .unknownScenario(let name, let known): "unknown scenario '\(name)' (known: \(known.joined(separator: ", ")))"
        }
    }
}

/// What one run found.
public struct RunReport: Codable, Hashable, Sendable {
    public var scenario: String
    public var seed: String
    public var passed: Bool
    public var violations: [Violation]
    /// Every checker's verdict and what it examined.
    public var checks: [CheckVerdict]
    public var tasks: Int
    public var completed: Int
    public var aborted: Int
    public var unfinished: Int
    public var rejected: Int
    /// Client-observed latency from first submit to final status, virtual nanoseconds.
    public var latencyP50: Int64?
    public var latencyP99: Int64?
    public var llmCalls: Int
    public var wastedCalls: Int
    public var faultsInjected: Int
    public var events: UInt64
    public var steps: UInt64
    public var virtualEnd: Int64
    public var livenessConverged: Bool
    public var latencyMean: Int64?
    public var latencyP90: Int64?
    public var latencyMax: Int64?
    public var hash: String
    /// The marks the run reached, by name, with their hits (`Mark`).
    public var marks: [String: Int] = [:]
    /// When each reached mark was first hit, virtual nanoseconds: where a guided search branches.
    public var markFirstHits: [String: Int64] = [:]
    /// The state signature's features (`StateSignature`), when the run counted them.
    public var signature: [Int]? = nil
}
