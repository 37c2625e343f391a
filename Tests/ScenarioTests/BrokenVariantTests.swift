import Checks
@testable import Core
import GRDB
@testable import SQLiteStore
@testable import Scenarios
import Sim
import Testing

// Deliberately broken roles. They live here, in the tests, so no shipped code can take them.

/// A store that applies a stale progress write when the node has no row yet.
struct StaleAcceptingStore: CoreMachine {
    var inner: StoreNode

    mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        if case .message(let from, .storeRequest(let id, .saveProgress(let task, let node, let epoch, let result, let digest))) = input,
            let record = try? inner.store.getTask(task), record.epoch != epoch, (try? inner.store.getProgress(task, node: node)) == nil
        {
            // Through the store's own write path, so its read cache forgets the task's count.
            try? (inner.store as! TaskStore).writing(task: task, taskRow: false) { db in
                try db.execute(
                    sql: "INSERT INTO Progress (task_id, node_id, global_epoch, regional_epoch, result, input_digest) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [task, node, epoch.global, epoch.regional, result, digest])
            }
            let outcome = WriteOutcome.applied(current: record.epoch, repeated: false)
            let kind = WriteKind.progress(node: node, resultDigest: FNV64.hex(FNV64.hash(result)), inputDigest: digest)
            return [
                .observe(.write(task: task, request: kind, epoch: epoch, before: record.epoch, outcome: outcome)),
                .send(to: from, .storeReply(requestID: id, .write(outcome))),
            ]
        }
        return inner.handle(input, context: context, random: &random)
    }
}

/// An owner that takes "your epoch is stale" for "saved" and carries on.
struct RejectionIgnoringProxy: CoreMachine {
    var inner: AgentProxy

    mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        var input = input
        if case .message(let from, .storeReply(let id, .write(.rejected(let current, .staleEpoch)))) = input {
            input = .message(from: from, .storeReply(requestID: id, .write(.applied(current: current ?? .initial, repeated: false))))
        }
        return inner.handle(input, context: context, random: &random)
    }
}

/// A new owner that ignores the progress it loads and computes every node again.
struct ProgressIgnoringProxy: CoreMachine {
    var inner: AgentProxy

    mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        var input = input
        if case .message(let from, .storeReply(let id, .progress)) = input {
            input = .message(from: from, .storeReply(requestID: id, .progress([])))
        }
        return inner.handle(input, context: context, random: &random)
    }
}

/// A gateway that answers status from memory, so a restart forgets every earlier task.
struct ForgetfulGateway: CoreMachine {
    var inner: Gateway
    var known: Set<TaskID> = []

    mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        if case .message(let from, .statusQuery(let id, let task)) = input, !known.contains(task) {
            return [.send(to: from, .statusReply(requestID: id, status: .nonExist))]
        }
        let effects = inner.handle(input, context: context, random: &random)
        for case .observe(.taskAcknowledged(let task)) in effects { known.insert(task) }
        return effects
    }
}

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
