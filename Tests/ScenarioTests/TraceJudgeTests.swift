import Checks
import Core
import Foundation
import PlantedBugs
@testable import Scenarios
import Sim
import Testing

/// `TraceJudge`: a recorded trace, judged from the file alone, gets the verdict of the run that
/// wrote it, violations and figures included.
@Suite("Judging a recorded trace from the file alone")
struct TraceJudgeTests {
    func recordAndJudge(_ scenario: Scenario, seed: UInt64, overrides: RoleOverrides = .none) throws -> (run: RunReport, judged: RunReport) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("judge-\(scenario.name)-\(seed)-\(UInt32.random(in: 0...UInt32.max)).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let runner = try ScenarioRun(scenario: scenario, seed: seed, overrides: overrides)
        try runner.record(to: path)
        let report = try runner.execute()
        return (report, try TraceJudge.judge(try RecordedTrace.load(path: path)))
    }

    @Test("passing runs of several scenarios: the judged report equals the run's own, field by field", arguments: ["smoke", "proxy-crash", "graph-dag", "admission", "llm-flaky"])
    func passingRunsAgree(name: String) throws {
        for seed: UInt64 in 1...2 {
            let (run, judged) = try recordAndJudge(try ScenarioLibrary.scenario(named: name, seed: seed), seed: seed)
            #expect(run.passed)
            #expect(judged == run, "\(name) seed \(seed)")
        }
    }

    @Test("a failing run (a store that accepts stale epochs) is judged failing, with the same violations")
    func failingRunAgrees() throws {
        var scenario = ScenarioLibrary.zombieOwner
        scenario.workload.tasks = chainTasks
        let overrides = RoleOverrides(store: { StaleAcceptingStore(inner: StoreNode(store: $0)) })
        let seed = try #require(try explore(scenario, seeds: 1...300, overrides: overrides)?.0, "the broken store was not caught")
        let (run, judged) = try recordAndJudge(scenario, seed: seed, overrides: overrides)
        #expect(!run.passed && !judged.passed)
        #expect(judged.violations == run.violations)
        #expect(judged == run)
    }

    @Test("a trace whose end line carries no store snapshot, or of another world, is refused with the reason")
    func unusableTracesAreRefused() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../traces").standardized
        let old = try RecordedTrace.load(path: folder.appendingPathComponent("proxy-crash-seed-10-owner-waited-for-dead-worker.jsonl").path)
        #expect(throws: TraceJudge.Failure.noEndSnapshot) { try TraceJudge.judge(old) }
        var lines = old.headerLine.replacingOccurrences(of: "\"world\":\"agentos-scenario\"", with: "\"world\":\"kernel-demo\"")
        lines += "\n" + old.eventLines.joined(separator: "\n") + "\n" + old.footerLine + "\n"
        #expect(throws: TraceJudge.Failure.notAScenarioTrace(world: "kernel-demo")) { try TraceJudge.judge(try RecordedTrace.parse(lines)) }
    }
}
