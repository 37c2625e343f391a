import Campaigns
import Foundation
@testable import Scenarios
import Sim
import Testing

/// Branching a run (`FaultAction.reseed`): the prefix is the original run's, the rest is
/// drawn afresh; what guided exploration builds on.
@Suite("Branching a run at a moment")
struct BranchTests {
    func eventLines(_ scenario: Scenario, seed: UInt64, faults: [FaultEntry]?) throws -> [String] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("branch-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try ScenarioRun(scenario: scenario, seed: seed, faults: faults)
        try run.record(to: path)
        _ = try run.execute()
        return try RecordedTrace.load(path: path).eventLines
    }

    @Test("a run branched at 20 s has the original's events up to 20 s, then its own; the same branch twice is the same run")
    func prefixIsKept() throws {
        let scenario = try ScenarioLibrary.scenario(named: "proxy-crash", seed: 5)
        let at = Instant.zero + .seconds(20)
        let recipe = Recipe(seed: 5, reseeds: [.init(at: at, seed: 77)])
        let original = try eventLines(scenario, seed: 5, faults: nil)
        let branched = try eventLines(scenario, seed: 5, faults: recipe.faults(for: scenario))
        let again = try eventLines(scenario, seed: 5, faults: recipe.faults(for: scenario))
        #expect(branched == again)
        let cut = try #require(branched.firstIndex { $0.contains("\"reseed\"") }, "the branch point is in the trace")
        #expect(Array(original.prefix(cut)) == Array(branched.prefix(cut)), "the prefix before the branch is the original's")
        #expect(original.count != branched.count || original != branched.filter { !$0.contains("\"reseed\"") }, "after the branch the run differs")
    }

    @Test("a recipe reads back from its text; malformed or out-of-order text is refused")
    func recipeText() throws {
        let recipe = Recipe(seed: 9, reseeds: [.init(at: .nanoseconds(1_000), seed: 3), .init(at: .nanoseconds(5_000), seed: 4)])
        #expect(recipe.description == "9@1000:3@5000:4")
        #expect(Recipe(text: recipe.description) == recipe)
        #expect(Recipe(text: "9") == Recipe(seed: 9))
        for bad in ["", "x", "9@", "9@1000", "9@-1:3", "9@5000:4@1000:3", "9@1000:3:4"] { #expect(Recipe(text: bad) == nil, "\(bad)") }
        #expect(recipe.branched(at: .nanoseconds(2_000), seed: 8).description == "9@1000:3@2000:8")
        #expect(recipe.rerun(scenario: "smoke") == "agentos run --scenario smoke --seed 9 --branch 1000:3 --branch 5000:4")
    }

    @Test("a reseed counts as no fault and changes no verdict of a passing scenario")
    func reseedIsNoFault() throws {
        let scenario = ScenarioLibrary.smoke
        let plain = try ScenarioRun(scenario: scenario, seed: 2).execute()
        let recipe = Recipe(seed: 2, reseeds: [.init(at: .zero + .seconds(10), seed: 1)])
        let branched = try ScenarioRun(scenario: scenario, seed: 2, faults: recipe.faults(for: scenario)).execute()
        #expect(plain.passed && branched.passed)
        #expect(branched.faultsInjected == plain.faultsInjected)
        #expect(branched.hash != plain.hash)
    }

    @Test("the state signature only reads: counting it leaves the hash as it was, and two seeds reach different entries")
    func signatureOnlyReads() throws {
        let scenario = try ScenarioLibrary.scenario(named: "proxy-crash", seed: 6)
        let plain = try ScenarioRun(scenario: scenario, seed: 6).execute()
        let counting = try ScenarioRun(scenario: scenario, seed: 6)
        counting.countsSignature = true
        let counted = try counting.execute()
        #expect(plain.signature == nil)
        let features = try #require(counted.signature)
        #expect(counted.hash == plain.hash && counted.events == plain.events)
        #expect(features.count > 20 && features == features.sorted())
        let other = try ScenarioRun(scenario: try ScenarioLibrary.scenario(named: "proxy-crash", seed: 7), seed: 7)
        other.countsSignature = true
        #expect(try other.execute().signature != features)
    }
}
