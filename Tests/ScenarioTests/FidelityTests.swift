import Core
import FakeLLM
import Foundation
import Sim
import Testing

@testable import Scenarios

/// The pieces `agentos reproduce` is built from: checkpoint policies, the reference's fault
/// injector, recorded and time-bounded arrivals, runs that end when the clients are done.
@Suite("Fidelity building blocks")
struct FidelityTests {
    /// A small reference-like cluster: 4 proxies with their own batching LLM, graph and plain
    /// tasks, a proxy killed every 20 s for 8 s while the clients are busy.
    func rollingKill(_ checkpoints: CheckpointPolicy) -> Scenario {
        var scenario = ScenarioLibrary.poisson
        scenario.name = "rolling-\(checkpoints.rawValue)"
        scenario.reshape(like: Scenario.cluster(regions: 1, proxiesPerRegion: 4, llmEndpoints: 4, workerConcurrency: 10))
        scenario.llm = FakeLLMProfile.vllmLlama8b.config
        scenario.cluster.timings = RecoveryTimings(heartbeat: .seconds(2), proxyEviction: .seconds(6), regionSweep: .seconds(2))
        scenario.cluster.checkpoints = checkpoints
        scenario.workload.requestsPerClient = 12
        scenario.workload.tasks = TaskTemplate.referenceBenchmark + [
            TaskTemplate(
                rounds: 2, samples: 2, voters: 2,
                graph: TaskGraph(nodes: [
                    GraphNode(id: "plan"), GraphNode(id: "code", dependsOn: ["plan"]), GraphNode(id: "tests", dependsOn: ["plan"]),
                    GraphNode(id: "review", dependsOn: ["code", "tests"]),
                ]))
        ]
        scenario.faults = FaultSpec(rolling: RollingKill(every: .seconds(20), down: .seconds(8)))
        scenario.phases = Phases(safety: .seconds(1200), liveness: .seconds(300), endWhenDone: true)
        scenario.budgets = nil
        return scenario
    }

    @Test("per-round checkpoints under the reference's rolling kills: every checker passes and owners resume from saved rounds", arguments: [1, 2, 3] as [UInt64])
    func perRoundUnderRollingKills(seed: UInt64) throws {
        let run = try ScenarioRun(scenario: rollingKill(.perRound), seed: seed)
        let report = try run.execute()
        #expect(report.passed, "\(report.violations.map(\.detail))")
        #expect(report.completed == 12)
        #expect(report.faultsInjected >= 2)
        let rounds = try run.store.allTasks().flatMap { try run.store.getProgressList($0.taskID) }.filter { RoundCheckpoint.parse($0.nodeID) != nil }
        #expect(!rounds.isEmpty, "round checkpoints were saved")
    }

    @Test("without checkpoints every checker still passes, and nothing is saved before a task is done", arguments: [1, 2] as [UInt64])
    func noCheckpointsUnderRollingKills(seed: UInt64) throws {
        let scenario = rollingKill(.none)
        let run = try ScenarioRun(scenario: scenario, seed: seed)
        var savedBeforeDone = 0
        var finished: Set<TaskID> = []
        let previous = run.simulation.eventSink
        run.simulation.eventSink = { entry in
            previous?(entry)
            guard case .observe(_, .core(.write(let task, let kind, _, _, .applied(_, false)))) = entry.event else { return }
            switch kind {
            case .finish: finished.insert(task)
            case .progress(let node, _, _):
                if RoundCheckpoint.parse(node) != nil { savedBeforeDone += 1 }
            default: break
            }
        }
        let report = try run.execute()
        #expect(report.passed, "\(report.violations.map(\.detail))")
        #expect(savedBeforeDone == 0, "no round checkpoints without checkpoints")
        #expect(finished.count == 12)
    }

    @Test("the rolling kill crashes a live victim every interval and restarts it after the downtime, for the whole budget")
    func rollingKillPlan() {
        let kill = RollingKill(every: .seconds(30), down: .seconds(10))
        var random = SimRandom(seed: 1, key: "faults/rolling")
        let topology = Scenario.cluster(regions: 1, proxiesPerRegion: 4, llmEndpoints: 2)
        let entries = kill.plan(topology, until: .zero + .seconds(301), random: &random)
        #expect(entries.count == 20, "ten kills in 300 s, each with its restart")
        for (crash, restart) in zip(entries.filter { if case .crash = $0.action { true } else { false } }, entries.filter { if case .restart = $0.action { true } else { false } }) {
            guard case .crash(let victim) = crash.action, case .restart(let back) = restart.action else { continue }
            #expect(victim == back && restart.at == crash.at + .seconds(10))
            #expect(topology.proxyNames.contains(Address(victim)))
        }
    }

    @Test("recorded arrivals replay their times and templates; sendFor bounds an open-loop client in time")
    func arrivalsAndSendFor() {
        var workload = Workload(requestsPerClient: 3, pattern: .arrivals(atMillis: [0, 1_500, 4_000], tasks: [2, 0, 1]), tasks: TaskTemplate.referenceBenchmark)
        var random = SimRandom(seed: 1, key: "x")
        let plan = ClientProcess.plan(workload, random: &random)
        #expect(plan.map(\.gap.nanoseconds) == [0, 1_500_000_000, 2_500_000_000])
        #expect((0..<3).map { workload.pattern.template(for: $0, count: 5) } == [2, 0, 1])
        workload.pattern = .poisson(perHour: 3600)
        workload.requestsPerClient = 10_000
        workload.sendFor = .seconds(60)
        let bounded = ClientProcess.plan(workload, random: &random)
        #expect((20...120).contains(bounded.count), "about one a second for 60 s: \(bounded.count)")
        #expect(bounded.map(\.gap.nanoseconds).reduce(0, +) < 60_000_000_000)
        var bad = ScenarioLibrary.smoke
        bad.workload.pattern = .arrivals(atMillis: [0, 10], tasks: [0, 9])
        #expect(bad.problem()?.contains("arrivals name task 9") == true)
        bad.workload.pattern = .arrivals(atMillis: [10, 0], tasks: [0, 0])
        #expect(bad.problem()?.contains("sorted") == true)
    }

    @Test("a run that ends when its clients are done stops at the last answer instead of running out its safety phase")
    func endWhenDone() throws {
        var scenario = ScenarioLibrary.smoke
        scenario.phases = Phases(safety: .seconds(3600), liveness: .seconds(60), endWhenDone: true)
        let report = try ScenarioRun(scenario: scenario, seed: 1).execute()
        #expect(report.passed && report.livenessConverged)
        #expect(report.virtualEnd < 600_000_000_000, "ended at \(report.virtualEnd) ns")
    }

    @Test("experiment files merge key by key, replace enum cases and LLM profiles whole, and name the row of a bad change")
    func experimentFiles() throws {
        let merged = Experiment.merge(
            ["a": ["b": 1, "c": 2], "pattern": ["poisson": ["perHour": 1]], "llm": ["profile": "realistic", "model": "m"]],
            ["a": ["c": 3], "pattern": ["arrivals": ["atMillis": [0]]], "llm": ["profile": "perfect"]])
        #expect((merged["a"] as? [String: Int]) == ["b": 1, "c": 3])
        #expect((merged["pattern"] as? [String: Any])?.keys.sorted() == ["arrivals"])
        #expect((merged["llm"] as? [String: String]) == ["profile": "perfect"])

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("experiment-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let good = #"{"experiment": "e", "base": "smoke", "set": {"policies": {"checkpoints": "per-round"}}, "rows": [{"row": "a", "referenceMean": 10}, {"row": "b", "referenceMean": 12, "set": {"policies": {"voting": "early_majority"}}}]}"#
        try good.write(toFile: folder + "/good.json", atomically: true, encoding: .utf8)
        let experiment = try Experiment.load(path: folder + "/good.json")
        #expect(experiment.baseline == "a" && experiment.rows.count == 2)
        #expect(experiment.rows[1].scenario.cluster.voting == .earlyMajority)
        #expect(experiment.rows[1].scenario.cluster.checkpoints == .perRound)
        #expect(experiment.rows[1].scenario.name == "e/b")
        let bad = #"{"experiment": "e", "base": "smoke", "rows": [{"row": "x", "referenceMean": 1, "set": {"topology": {"regions": 0}}}]}"#
        try bad.write(toFile: folder + "/bad.json", atomically: true, encoding: .utf8)
        #expect(throws: ScenarioError.self) { try Experiment.load(path: folder + "/bad.json") }
        do { _ = try Experiment.load(path: folder + "/bad.json") } catch { #expect("\(error)".contains("row 'x'")) }
    }
}
