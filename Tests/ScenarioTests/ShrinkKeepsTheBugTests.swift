import Checks
import PlantedBugs
@testable import Core
import Foundation
@testable import Scenarios
import Sim
import Testing

@Suite("Shrinking keeps the bug: shrunk traces fail on the buggy code and pass on the correct code", .serialized)
struct ShrinkKeepsTheBugTests {
    struct Case {
        var name: String
        var scenario: Scenario
        var overrides: RoleOverrides
        var invariants: Set<Invariant>
    }

    static var cases: [Case] {
        var regionLoss = ScenarioLibrary.regionLoss
        regionLoss.workload.requestsPerClient = 2
        var zombie = ScenarioLibrary.zombieOwner
        zombie.workload.tasks = chainTasks
        return [
            Case(name: "a store comparing epochs regional part first (liveness)", scenario: regionLoss,
                 overrides: RoleOverrides(store: { RegionalFirstStore(inner: StoreNode(store: $0)) }), invariants: [.liveness, .clientOutcome]),
            Case(name: "a region whose hand-over reuses the epoch (liveness)", scenario: ScenarioLibrary.proxyCrash,
                 overrides: RoleOverrides(region: { EpochReusingHandoverRegion(inner: RegionalCoordinator(settings: $0, incarnation: $1)) }),
                 invariants: [.liveness, .clientOutcome]),
            Case(name: "a store that accepts a stale epoch (safety)", scenario: zombie,
                 overrides: RoleOverrides(store: { StaleAcceptingStore(inner: StoreNode(store: $0)) }), invariants: [.fencing]),
            Case(name: "a gateway whose keys leave out the client (justified rejections)", scenario: ScenarioLibrary.proxyCrash,
                 overrides: CoreBug.clientBlindKeyGateway.overrides, invariants: [.justifiedRejections]),
        ]
    }

    /// The first failing seed of the case, its faults and the invariant it fails.
    func firstFailure(_ planted: Case) throws -> (seed: UInt64, faults: [FaultEntry], invariant: Invariant) {
        for seed in UInt64(1)...50 {
            let faults = ScenarioRun.plannedFaults(scenario: planted.scenario, seed: seed)
            let report = try ScenarioRun(scenario: planted.scenario, seed: seed, faults: faults, overrides: planted.overrides).execute()
            if let violation = report.violations.first(where: { planted.invariants.contains($0.invariant) }) {
                return (seed, faults, violation.invariant)
            }
        }
        Issue.record("\(planted.name): not caught within 50 seeds")
        throw CancellationError()
    }

    @Test("without a baseline, the liveness floor and the evidence keep each planted bug's shrunk trace passing on the correct code",
          arguments: [0, 1, 2, 3])
    func shrunkTracePassesOnCorrectCode(index: Int) throws {
        let planted = Self.cases[index]
        let (seed, faults, invariant) = try firstFailure(planted)
        let result = try ScenarioShrinker.shrink(
            scenario: planted.scenario, seed: seed, faults: faults, invariant: invariant, budget: 120, overrides: planted.overrides)
        #expect(result.scenario.phases.liveness >= result.livenessFloor)
        let buggy = try ScenarioShrinker.finalRun(result, seed: seed, invariant: invariant, overrides: planted.overrides).execute()
        #expect(buggy.violations.contains { $0.invariant == invariant }, "\(planted.name): the shrunk run no longer fails \(invariant)")
        // The correct code on the shrunk inputs, run whole (not cut at a violation).
        let correct = try ScenarioRun(scenario: result.scenario, seed: seed, faults: result.faults).execute()
        #expect(correct.passed, "\(planted.name): the shrunk trace fails on the correct code too: \(correct.violations.map(\.description))")
        print("\(planted.name): seed \(seed), \(faults.count) -> \(result.faults.count) faults (\(result.neededFaults.count) needed), liveness \(planted.scenario.phases.liveness) -> \(result.scenario.phases.liveness), \(result.runs) runs")
    }

    @Test("with the correct code as the baseline, no kept reduction fails there, and a failure the baseline shares is refused")
    func differentialShrink() throws {
        let planted = Self.cases[1]
        let (seed, faults, invariant) = try firstFailure(planted)
        var baselineRuns = 0
        let baseline: ScenarioShrinker.Baseline = { scenario, seed, faults in
            baselineRuns += 1
            return !(try ScenarioRun(scenario: scenario, seed: seed, faults: faults).execute().passed)
        }
        let result = try ScenarioShrinker.shrink(
            scenario: planted.scenario, seed: seed, faults: faults, invariant: invariant, budget: 120, overrides: planted.overrides, baseline: baseline)
        #expect(baselineRuns > 0)
        #expect(try ScenarioRun(scenario: result.scenario, seed: seed, faults: result.faults).execute().passed)
        // The bug needs a hand-over, so an eviction: at least one proxy crash stays.
        #expect(!result.neededFaults.isEmpty, "\(result.steps)")
        // A failure of the correct code itself (a budget no task can meet) is not this build's.
        var impossible = ScenarioLibrary.smoke
        impossible.phases.liveness = .seconds(1)
        impossible.phases.safety = .seconds(1)
        #expect(throws: ScenarioError.self) {
            _ = try ScenarioShrinker.shrink(scenario: impossible, seed: 1, faults: [], invariant: .liveness, budget: 10, baseline: baseline)
        }
    }
}
