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

    @Test("a branch that redraws its faults keeps every fault begun before the moment, with its undo, and draws those after it from its own seed")
    func redrawnFaults() throws {
        let scenario = try ScenarioLibrary.scenario(named: "swarm", seed: 7)
        let planned = ScenarioRun.plannedFaults(scenario: scenario, seed: 7)
        #expect(ScenarioRun.plannedFaults(scenario: scenario, seed: 7, redrawn: []) == planned)
        let at = Instant.zero + .seconds(15)
        let recipe = Recipe(seed: 7, reseeds: [.init(at: at, seed: 99, redrawsFaults: true)])
        let redrawn = recipe.faults(for: scenario).filter { !$0.action.isReseed }
        #expect(redrawn.filter { $0.at < at } == planned.filter { $0.at < at }, "the prefix's faults are the seed's")
        #expect(redrawn != planned, "the faults after the moment are drawn afresh")
        // Whatever began before the moment still ends: every crash and pause has its undo later.
        for (index, entry) in redrawn.enumerated() {
            switch entry.action {
            case .crash(let node), .powerLoss(let node):
                #expect(redrawn[index...].contains { $0.action == .restart(node: node) }, "\(entry)")
            case .pause(let node):
                #expect(redrawn[index...].contains { $0.action == .resume(node: node) }, "\(entry)")
            default: break
            }
        }
        #expect(Recipe(text: recipe.description) == recipe && recipe.description == "7@15000000000:99:faults")
        #expect(try ScenarioRun(scenario: scenario, seed: 7, faults: recipe.faults(for: scenario)).execute().passed)
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

@Suite("What guided searches found in the correct code")
struct GuidedFindingTests {
    @Test("a task whose calls lose to its neighbours' under a rate limit is not aborted as llm-unavailable while the owner's other calls are answered")
    func starvedNodeIsNotAborted() throws {
        // Found by `explore --guided --scenario swarm --seeds 2000`: swarm seed 359 (one region,
        // a rate-limited hosted LLM, no worker retries) branched at 3.85 s. Task 32's node
        // failed 139 calls on 429s for 300 s and was aborted, while its owner's other calls,
        // and 31 other tasks, were answered all along.
        let scenario = try ScenarioLibrary.scenario(named: "swarm", seed: 359)
        let recipe = try #require(Recipe(text: "359@3853633607:5053055057517272"))
        let report = try ScenarioRun(scenario: scenario, seed: 359, faults: recipe.faults(for: scenario)).execute()
        #expect(report.passed, "\(report.violations.map(\.description))")
        #expect(report.aborted == 0)
    }

    @Test("branched swarm runs whose gateway gave up on a create the store applied later pass the justified-rejections checker", arguments: [
        // A create delayed past the gateway's give-up, applied after it: the gateway rightly
        // counts it until a newer sweep; the checker did not.
        "2000074@348245746:8789434235457866:faults@4942864021:4533454654426301",
        // Two creates of one key, the first given up on, the second answered: the gateway
        // counted the key and its task twice, and refused a submit it could take.
        "3000005@2607252:4956087992348240:faults@8923899541:152006787632356:faults@14405821054:3152072592732883:faults",
    ])
    func unansweredCreates(text: String) throws {
        let recipe = try #require(Recipe(text: text))
        let scenario = try ScenarioLibrary.scenario(named: "swarm", seed: recipe.seed)
        let report = try ScenarioRun(scenario: scenario, seed: recipe.seed, faults: recipe.faults(for: scenario)).execute()
        #expect(report.passed, "\(report.violations.map(\.description))")
    }
}
