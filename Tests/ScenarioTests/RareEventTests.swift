import Foundation
import PlantedBugs
import Testing
@testable import Core
@testable import Scenarios
import Sim

/// How many of `seeds` a planted bug fails.
func caughtCount(_ scenario: (UInt64) throws -> Scenario, seeds: ClosedRange<UInt64>, overrides: RoleOverrides) throws -> (caught: Int, first: UInt64?) {
    var caught = 0
    var first: UInt64?
    for seed in seeds where !(try ScenarioRun(scenario: try scenario(seed), seed: seed, overrides: overrides).execute().passed) {
        caught += 1
        first = first ?? seed
    }
    return (caught, first)
}

@Suite("Rare events made common", .serialized)
struct RareEventTests {
    @Test("a store that fences finishes on the global epoch alone passes the crash scenarios but is caught by fencing in cut-off-owner")
    func globalOnlyFinishStore() throws {
        let overrides = RoleOverrides(store: { GlobalOnlyFinishStore(inner: StoreNode(store: $0)) })
        #expect(try explore(ScenarioLibrary.proxyCrash, seeds: 1...10, overrides: overrides) == nil)
        #expect(try explore(ScenarioLibrary.zombieOwner, seeds: 1...10, overrides: overrides) == nil)
        let (seed, violations) = try #require(try explore(ScenarioLibrary.cutOffOwner, seeds: 1...50, overrides: overrides), "not caught within 50 seeds")
        #expect(violations.contains { $0.invariant == .fencing }, "seed \(seed): \(violations)")
    }

    @Test("llm-transient: owners see single transient failures in every one of ten seeds, and every run still passes")
    func transientFailuresReachOwners() throws {
        for seed in UInt64(1)...10 {
            var failed = 0
            let run = try ScenarioRun(scenario: ScenarioLibrary.llmTransient, seed: seed)
            let sink = run.simulation.eventSink
            run.simulation.eventSink = { entry in
                if case .send(_, _, _, .llmWorkReply(_, .failed(_, true, _))) = entry.event { failed += 1 }
                sink?(entry)
            }
            #expect(try run.execute().passed)
            #expect(failed > 0, "seed \(seed): no owner saw a transient failure")
        }
    }

    @Test("measure: how often each rare planted bug is caught, by scenario", .enabled(if: ProcessInfo.processInfo.environment["AGENTOS_MEASURE"] != nil))
    func measure() throws {
        let bugs: [(String, RoleOverrides)] = [
            ("equal-epoch claim", RoleOverrides(store: { EqualClaimStore(inner: StoreNode(store: $0)) })),
            ("global-only finish", RoleOverrides(store: { GlobalOnlyFinishStore(inner: StoreNode(store: $0)) })),
        ]
        let names = ProcessInfo.processInfo.environment["AGENTOS_MEASURE"]!.split(separator: ",").map(String.init)
        let count = UInt64(ProcessInfo.processInfo.environment["AGENTOS_MEASURE_SEEDS"] ?? "100")!
        for (bug, overrides) in bugs {
            for name in names {
                let (caught, first) = try caughtCount({ try ScenarioLibrary.scenario(named: name, seed: $0) }, seeds: 1...count, overrides: overrides)
                print("MEASURE \(bug) in \(name): \(caught) of \(count) seeds, first \(first.map(String.init) ?? "-")")
            }
        }
    }
}
