import Foundation
import Testing

import Checks
@testable import Campaigns
@testable import Mutation

private func mutant(_ id: Int, _ op: MutationOperator = .dropGuard) -> Mutant {
    Mutant(
        id: id, key: "Role.swift/Role.handle/\(op.rawValue)/0000000\(id)#1", file: "Role.swift", line: 10 + id, column: 9, function: "Role.handle",
        mutationOperator: op, before: "guard claim > epoch else { return }", after: "guard true else { return }")
}

private func report(_ results: [MutantResult], shard: String? = nil) -> MutationReport {
    MutationReport(
        target: "Core", sourceDigest: "abc", operators: MutationOperator.allCases, budget: MutationBudget(scenarios: ["smoke"], seedsPerScenario: 1, swarmSeeds: 1),
        shard: shard, uncompilable: [], faithfulRuns: 2, comparedRuns: 2, results: results, wallSeconds: 1)
}

private let killed = MutantResult(mutant: mutant(1), status: .killed, killedBy: ["fencing", "liveness"], killingRun: "smoke@1", runs: 1, cpuSeconds: 0.1)
private let crashed = MutantResult(mutant: mutant(2), status: .crashed, killedBy: ["crash"], runs: 2, cpuSeconds: 0.2)
private let survivor = MutantResult(mutant: mutant(3, .swapEffects), status: .survived, runs: 2, cpuSeconds: 0.3)

@Test func theScoreCountsKillsOverMutantsThatAreNotEquivalent() {
    var whole = report([killed, crashed, survivor])
    #expect(whole.kills == 2 && whole.scored == 3)
    #expect(abs(whole.score - 200.0 / 3) < 1e-9)
    whole.apply(MutationAllowlist(reasons: [survivor.mutant.key: "the two sends cross the network in either order"]))
    #expect(whole.count(.equivalent) == 1 && whole.survivors.isEmpty && whole.score == 100)
    #expect(whole.results[2].reason == "the two sends cross the network in either order")
    #expect(whole.matrixSummary.map(\.checker) == ["crash", "fencing", "liveness"])
    #expect(whole.soleKills(by: "crash") == 1 && whole.soleKills(by: "fencing") == 0)
}

@Test func anAllowlistEntryForNoSurvivorIsReportedStale() {
    var whole = report([killed, survivor])
    whole.apply(MutationAllowlist(reasons: [killed.mutant.key: "wrongly listed", "Gone.swift/x/drop-guard/00000000#1": "code moved"]))
    #expect(whole.staleAllowlist.count == 2)
    #expect(whole.survivors.count == 1)
    // A shard only judges the entries whose mutants it ran.
    var shard = report([killed, survivor], shard: "0/2")
    shard.apply(MutationAllowlist(reasons: ["Gone.swift/x/drop-guard/00000000#1": "code moved"]))
    #expect(shard.staleAllowlist.isEmpty)
}

@Test func allowlistFilesNeedAReasonPerEntryAndNoDuplicates() throws {
    let parsed = try MutationAllowlist(text: "# equivalents\n\nA/b/drop-guard/1#1  the guard repeats the caller's\n", source: "list")
    #expect(parsed.reasons == ["A/b/drop-guard/1#1": "the guard repeats the caller's"])
    #expect(throws: CampaignError.self) { try MutationAllowlist(text: "A/b/drop-guard/1#1\n", source: "list") }
    #expect(throws: CampaignError.self) { try MutationAllowlist(text: "K reason\nK again\n", source: "list") }
}

@Test func shardsMergeIntoOneReportAndOverlapsAreRefused() throws {
    let merged = try MutationReport.merge([report([survivor], shard: "1/2"), report([killed, crashed], shard: "0/2")])
    #expect(merged.results.map(\.id) == [1, 2, 3] && merged.shard == nil && merged.comparedRuns == 4)
    #expect(throws: CampaignError.self) { try MutationReport.merge([report([killed]), report([killed])]) }
    var other = report([crashed])
    other.sourceDigest = "different"
    #expect(throws: CampaignError.self) { try MutationReport.merge([report([killed]), other]) }
}

@Test func aChildsVerdictsBecomeAKillACrashATimeoutOrASurvivor() throws {
    let plan = [ScenarioSeed(scenario: "smoke", seed: 1), ScenarioSeed(scenario: "smoke", seed: 2)]
    var failing = SeedResult(seed: 2, crashed: "x")
    failing.crashed = nil
    failing.scenario = "smoke"
    failing.firstViolation = "fencing: a stale write applied"
    failing.checks = try JSONDecoder().decode(
        [CheckVerdict].self,
        from: Data(
            """
            [{"invariant": 3, "name": "fencing", "passed": false, "violations": 1, "evidence": "", "ran": true},
             {"invariant": 1, "name": "liveness", "passed": true, "violations": 0, "evidence": "", "ran": true}]
            """.utf8))
    var passing = SeedResult(seed: 1, crashed: "x")
    passing.passed = true
    passing.crashed = nil
    passing.cpuSeconds = 0.5
    let kill = MutantResult(mutant: mutant(1), plan: plan, outcome: ChildOutcome(results: [passing, failing], death: nil, timedOut: false))
    #expect(kill.status == .killed && kill.killedBy == ["fencing"] && kill.killingRun == "smoke@2" && kill.runs == 2 && kill.cpuSeconds == 0.5)
    let crash = MutantResult(mutant: mutant(1), plan: plan, outcome: ChildOutcome(results: [passing], death: "killed by signal 4", timedOut: false))
    #expect(crash.status == .crashed && crash.killingRun == "smoke@2" && crash.killedBy == ["crash"])
    let hang = MutantResult(mutant: mutant(1), plan: plan, outcome: ChildOutcome(results: [], death: "no verdict", timedOut: true))
    #expect(hang.status == .timedOut && hang.killingRun == "smoke@1")
    let lived = MutantResult(mutant: mutant(1), plan: plan, outcome: ChildOutcome(results: [passing, passing], death: nil, timedOut: false))
    #expect(lived.status == .survived && lived.runs == 2)
}

@Test func aChildThatGoesSilentIsKilledAtTheTimeout() throws {
    let script = FileManager.default.temporaryDirectory.appendingPathComponent("silent-child-\(getpid()).sh")
    try "#!/bin/sh\necho '{\"not\": \"a verdict\"}'\nexec sleep 30\n".write(to: script, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
    defer { try? FileManager.default.removeItem(at: script) }
    let clock = ContinuousClock()
    let start = clock.now
    let outcome = runBatchChild(executable: script.path, runs: [ScenarioSeed(scenario: "smoke", seed: 1)], stopAtFailure: true, environment: [:], timeout: 0.5)
    #expect(outcome.timedOut && outcome.results.isEmpty)
    #expect(clock.now - start < .seconds(10))
}

@Test func theBudgetRunsEveryScenarioOnceBeforeAnySecondSeed() {
    let budget = MutationBudget(scenarios: ["a", "b"], seedsPerScenario: 2, swarmSeeds: 1)
    #expect(budget.runs.map(\.description) == ["a@1", "b@1", "a@2", "b@2", "swarm@1"])
}

@Test func junitHasOneCaseAMutantAndFailsTheSurvivors() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("mutate-junit-\(getpid()).xml").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try report([killed, crashed, survivor]).writeJUnit(to: path)
    let xml = try String(contentsOfFile: path, encoding: .utf8)
    #expect(xml.contains("tests=\"3\" failures=\"1\""))
    #expect(xml.components(separatedBy: "<testcase ").count == 4)
}

@Test func aCompilerErrorInTheSchemataNamesTheMutantOnTheNearestSwitchAbove() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("schemata-errors-\(getpid())")
    defer { try? FileManager.default.removeItem(at: root) }
    let build = SchemataBuild(packageRoot: root, target: "Core", generator: SchemataGenerator(), configuration: "debug", log: { _ in })
    try FileManager.default.createDirectory(at: build.generatedSources.appendingPathComponent("Roles"), withIntermediateDirectories: true)
    try """
        func f() {
            let reply: Int
            if !__agentosMutant(7) { reply = 1 }
            print(reply)
            if !__agentosMutant(8) { g() }
        }
        """.write(to: build.generatedSources.appendingPathComponent("Roles/Gateway.swift"), atomically: true, encoding: .utf8)
    let manifest = MutantManifest(target: "Core", sourceDigest: "d", mutants: [7, 8].map { mutant($0) })
    let output = """
        \(build.generatedSources.path)/Roles/Gateway.swift:4:11: error: constant 'reply' used before being initialized
        /elsewhere/Other.swift:1:1: error: not in the schemata
        """
    #expect(try build.rejectedMutants(in: output, manifest: manifest).map(\.id) == [7])
}
