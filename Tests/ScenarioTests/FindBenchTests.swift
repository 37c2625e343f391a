@testable import Campaigns
import Checks
import Foundation
import PlantedBugs
@testable import Scenarios
import Testing

/// A search of `runs` runs whose last one failed (or none, when `found` is false).
func search(_ bug: String, _ strategy: FindStrategy, explorer: Int, runs: Int, found: Bool, cpu: Double = 0.01) -> FindSearch {
    let planned = (0..<runs).map { index -> (scenario: String, recipe: Recipe, result: SeedResult) in
        var result = SeedResult(seed: UInt64(index + 1), crashed: "stand-in")
        result.passed = !(found && index == runs - 1)
        result.crashed = result.passed ? nil : "stand-in"
        result.cpuSeconds = cpu
        return ("smoke", Recipe(seed: UInt64(index + 1)), result)
    }
    return FindSearch(bug: bug, strategy: strategy, explorer: explorer, runs: planned)
}

@Suite("bench find's planted bugs and its report")
struct FindBenchTests {
    @Test("the suite plants at least 15 bugs with distinct names, each named in its summary's role")
    func suiteOfBugs() throws {
        #expect(CoreBug.allCases.count >= 15)
        #expect(Set(CoreBug.allCases.map(\.name)).count == CoreBug.allCases.count)
        for bug in CoreBug.allCases {
            #expect(try CoreBug.named(bug.name) == bug)
            #expect(!bug.summary.isEmpty && ["store", "gateway", "region", "proxy"].contains(bug.role))
        }
        #expect(throws: PlantedBugError.self) { try CoreBug.named("no-such-bug") }
    }

    @Test("the new planted bugs are caught: a stale error after a retry in rate-limited, an unsynced store in power-loss")
    func newBugsCaught() throws {
        let (seed, violations) = try #require(try explore(ScenarioLibrary.rateLimited, seeds: 1...30, overrides: CoreBug.staleErrorWorker.overrides))
        #expect(!violations.isEmpty, "seed \(seed)")
        #expect(try explore(ScenarioLibrary.powerLoss, seeds: 1...20, overrides: CoreBug.unsyncedStore.overrides) != nil)
    }

    @Test("the median counts a search that found nothing as worse than any that did; the max is open while one did not")
    func censoredMedians() {
        let report = FindReport(
            budget: 50, explorers: 5,
            searches: [
                search("b", .swarm, explorer: 1, runs: 7, found: true), search("b", .swarm, explorer: 2, runs: 50, found: false),
                search("b", .swarm, explorer: 3, runs: 3, found: true), search("b", .swarm, explorer: 4, runs: 12, found: true),
                search("b", .swarm, explorer: 5, runs: 50, found: false),
                search("b", .guided, explorer: 1, runs: 50, found: false), search("b", .guided, explorer: 2, runs: 50, found: false),
                search("b", .guided, explorer: 3, runs: 2, found: true), search("b", .guided, explorer: 4, runs: 50, found: false),
                search("b", .guided, explorer: 5, runs: 4, found: true),
            ], wallSeconds: 1)
        let swarm = report.rows[0]
        #expect(swarm.found == 3 && swarm.runsMedian == 12 && swarm.runsMax == nil)
        #expect(abs((swarm.cpuMedian ?? 0) - 0.12) < 1e-9)
        let guided = report.rows[1]
        #expect(guided.found == 2 && guided.runsMedian == nil, "three of five found nothing: no median")
        #expect(report.comparisons[0].speedup == nil && report.comparisons[0].bestUnguided == .swarm)
        #expect(report.lines().contains { $0.hasPrefix("b ") && $0.contains(">50") })
    }

    @Test("stored thresholds flag a strategy that finds a bug less often or much later, and pass the same figures")
    func thresholds() {
        let before = FindReport(budget: 20, explorers: 1, searches: [search("b", .guided, explorer: 1, runs: 4, found: true)], wallSeconds: 1)
        let stored = FindThresholds(before)
        #expect(stored.regressions(before).isEmpty)
        let later = FindReport(budget: 20, explorers: 1, searches: [search("b", .guided, explorer: 1, runs: 19, found: true)], wallSeconds: 1)
        #expect(stored.regressions(later).count == 1, "19 runs against 4 stored, at most 18 allowed")
        let lost = FindReport(budget: 20, explorers: 1, searches: [search("b", .guided, explorer: 1, runs: 20, found: false)], wallSeconds: 1)
        #expect(stored.regressions(lost).count == 2)
    }
}
