import Checks
import PlantedBugs
@testable import Core
import GRDB
@testable import SQLiteStore
@testable import Scenarios
import Sim
import Testing

// Deliberately broken roles (the `PlantedBugs` module: wrappers that no shipped role runs unless a
// run is handed one) must be caught by the checkers.

/// Runs seeds until one fails; returns the first failing seed and its violations.
func explore(_ scenario: Scenario, seeds: ClosedRange<UInt64>, overrides: RoleOverrides) throws -> (UInt64, [Violation])? {
    for seed in seeds {
        let report = try ScenarioRun(scenario: scenario, seed: seed, overrides: overrides).execute()
        if !report.passed {
            print("\(scenario.name): first failing seed \(seed): \(report.violations.first!.invariant)")
            return (seed, report.violations)
        }
    }
    return nil
}

let chainTasks = [
    TaskTemplate(
        rounds: 2, samples: 2, voters: 2,
        graph: TaskGraph(nodes: [GraphNode(id: "a"), GraphNode(id: "b", dependsOn: ["a"]), GraphNode(id: "c", dependsOn: ["b"])]))
]

@Suite("Broken variants of the core are caught by exploring seeds", .serialized)
struct BrokenVariantTests {
    @Test("the correct core passes the scenarios the variants fail")
    func correctCorePasses() throws {
        var zombie = ScenarioLibrary.zombieOwner
        zombie.workload.tasks = chainTasks
        #expect(try explore(zombie, seeds: 1...5, overrides: .none) == nil)
    }

    @Test("a store that accepts a stale epoch is caught by the fencing checker")
    func staleAcceptingStore() throws {
        var scenario = ScenarioLibrary.zombieOwner
        scenario.workload.tasks = chainTasks
        let found = try explore(scenario, seeds: 1...300, overrides: RoleOverrides(store: { StaleAcceptingStore(inner: StoreNode(store: $0)) }))
        let (seed, violations) = try #require(found, "not caught within 300 seeds")
        #expect(violations.contains { $0.invariant == .fencing }, "seed \(seed): \(violations)")
    }

    @Test("an owner that ignores its own rejection is caught")
    func ownerIgnoringRejection() throws {
        var scenario = ScenarioLibrary.zombieOwner
        scenario.workload.tasks = chainTasks
        let overrides = RoleOverrides(proxy: { RejectionIgnoringProxy(inner: AgentProxy(settings: $0, incarnation: $1)) })
        let (seed, violations) = try #require(try explore(scenario, seeds: 1...300, overrides: overrides), "not caught within 300 seeds")
        #expect(violations.contains { $0.invariant == .progressCorrectness }, "seed \(seed): \(violations)")
    }

    @Test("a new owner that re-runs saved nodes is caught")
    func ownerRerunningSavedNodes() throws {
        var scenario = ScenarioLibrary.proxyCrash
        scenario.workload.tasks = chainTasks
        let overrides = RoleOverrides(proxy: { ProgressIgnoringProxy(inner: AgentProxy(settings: $0, incarnation: $1)) })
        let (seed, violations) = try #require(try explore(scenario, seeds: 1...300, overrides: overrides), "not caught within 300 seeds")
        #expect(violations.contains { $0.invariant == .progressCorrectness }, "seed \(seed): \(violations)")
    }

    @Test("a gateway that forgets tasks on restart is caught by the client view checker")
    func forgetfulGateway() throws {
        let overrides = RoleOverrides(gateway: { ForgetfulGateway(inner: Gateway(settings: $0, incarnation: $1)) })
        let (seed, violations) = try #require(try explore(ScenarioLibrary.gatewayRestart, seeds: 1...300, overrides: overrides), "not caught")
        #expect(violations.contains { $0.invariant == .clientView }, "seed \(seed): \(violations)")
    }
}

@Suite("Shrinking a failing run")
struct ShrinkTests {
    @Test("shrink keeps the same invariant failing with fewer faults and a smaller workload")
    func shrinkMinimises() throws {
        let overrides = RoleOverrides(store: { StaleAcceptingStore(inner: StoreNode(store: $0)) })
        var scenario = ScenarioLibrary.zombieOwner
        scenario.workload.tasks = chainTasks
        let faults = ScenarioRun.plannedFaults(scenario: scenario, seed: 1)
        let original = try ScenarioRun(scenario: scenario, seed: 1, faults: faults, overrides: overrides).execute()
        #expect(original.violations.contains { $0.invariant == .fencing })
        let result = try ScenarioShrinker.shrink(
            scenario: scenario, seed: 1, faults: faults, invariant: .fencing, budget: 150, overrides: overrides)
        print("shrink steps (\(result.runs) runs): \(result.steps)")
        #expect(result.report.violations.contains { $0.invariant == .fencing })
        #expect(result.faults.count < faults.count, "\(result.steps)")
        let size = { (s: Scenario) in
            // LLM calls the workload asks for: clients x requests x rounds x nodes x (samples + voters).
            s.workload.clients * s.workload.requestsPerClient
                * s.workload.tasks.map { $0.rounds * ($0.graph?.nodes.count ?? 1) * ($0.samples + $0.voters) }.reduce(0, +)
        }
        #expect(size(result.scenario) < size(scenario), "\(result.steps)")
        #expect(result.scenario.phases.safety <= scenario.phases.safety)
    }
}
