import Foundation
import Testing
@testable import Core
@testable import Scenarios
import Sim

/// A store that fences an owner's finish on the global epoch alone: an owner the region has
/// replaced (a newer regional epoch) can still finish the task, as long as no other region
/// took it. Only an owner that is cut off while its region hands the task on, and that then
/// finishes before it hears, shows it.
struct GlobalOnlyFinishStore: CoreMachine {
    var inner: StoreNode

    mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        if case .message(let from, .storeRequest(let id, .finish(let task, let epoch, let outcome))) = input,
            let record = try? inner.store.getTask(task), !record.status.isFinished, record.epoch.global == epoch.global,
            epoch.regional < record.epoch.regional
        {
            // Applied through the store's own path at the current epoch; observed, as a real
            // store would log it, with the epoch the request carried.
            let effects = inner.handle(.message(from: from, .storeRequest(requestID: id, .finish(task, epoch: record.epoch, outcome: outcome))), context: context, random: &random)
            return effects.map { effect in
                if case .observe(.write(let task, let kind, _, let before, let result)) = effect {
                    return .observe(.write(task: task, request: kind, epoch: epoch, before: before, outcome: result))
                }
                return effect
            }
        }
        return inner.handle(input, context: context, random: &random)
    }
}

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
