import Checks
import Foundation
import Testing

/// The coverage report: `explore` counts every mark, `--require-marks` fails on a required one
/// no run reached, and `agentos marks` lists them.
@Suite("agentos explore's mark coverage and agentos marks")
struct MarkCoverageTests {
    @Test("explore prints the marks reached and never reached, and --json carries them")
    func exploreReportsCoverage() throws {
        let text = try CLI.run(["explore", "--scenario", "claim-storm", "--seeds", "3"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("marks reached: ") && text.stdout.contains("claim-won") && text.stdout.contains("never reached: "))
        let json = try CLI.run(["explore", "--scenario", "claim-storm", "--seeds", "3", "--json"])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let marks = try #require(summary["marks"] as? [String: Any])
        let reached = try #require(marks["reached"] as? [[String: Any]])
        let unreached = try #require(marks["unreached"] as? [String])
        #expect(marks["runs"] as? Int == 3)
        #expect(reached.count + unreached.count == Mark.allCases.count)
        let claimWon = try #require(reached.first { $0["name"] as? String == "claim-won" })
        #expect(claimWon["runs"] as? Int == 3 && (claimWon["hits"] as? Int ?? 0) >= 3)
    }

    @Test("--require-marks scenario passes when the scenario's own marks are reached; a required mark no run reached fails with exit 1 and its name")
    func requiredMarks() throws {
        #expect(try CLI.run(["explore", "--scenario", "smoke", "--seeds", "2", "--require-marks", "scenario"]).status == 0)
        let file = CLI.temporaryPath("required-marks.txt")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "# smoke never loses a region\nclaim-won\nregion-failover-claim  # needs a dead region\n".write(toFile: file, atomically: true, encoding: .utf8)
        let missing = try CLI.run(["explore", "--scenario", "smoke", "--seeds", "2", "--require-marks", file])
        #expect(missing.status == 1, "\(missing.stderr)")
        #expect(missing.stderr.contains("required mark(s) never reached in 2 run(s): region-failover-claim"), "\(missing.stderr)")
    }

    @Test("an unknown mark name, an unreadable file, and `scenario` with a scenario file are refused with exit status 2 before any run")
    func badRequirements() throws {
        let file = CLI.temporaryPath("bad-marks.txt")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "claim-won\nclaim-wonn\n".write(toFile: file, atomically: true, encoding: .utf8)
        let unknown = try CLI.run(["explore", "--scenario", "smoke", "--seeds", "1", "--require-marks", file])
        #expect(unknown.status == 2 && unknown.stderr.contains(":2: no mark is named 'claim-wonn'"), "\(unknown.stderr)")
        let unreadable = try CLI.run(["explore", "--scenario", "smoke", "--seeds", "1", "--require-marks", "/nonexistent/marks.txt"])
        #expect(unreadable.status == 2 && unreadable.stderr.contains("cannot read"), "\(unreadable.stderr)")
        let scenarioFile = CLI.temporaryPath("custom-scenario.json")
        defer { try? FileManager.default.removeItem(atPath: scenarioFile) }
        let shown = try CLI.run(["scenarios", "show", "smoke"])
        try shown.stdout.write(toFile: scenarioFile, atomically: true, encoding: .utf8)
        let custom = try CLI.run(["explore", "--scenario", scenarioFile, "--seeds", "1", "--require-marks", "scenario"])
        #expect(custom.status == 2 && custom.stderr.contains("not a named scenario"), "\(custom.stderr)")
    }

    @Test("agentos marks lists every mark, or a named scenario's, and refuses an unknown scenario")
    func marksCommand() throws {
        let all = try CLI.run(["marks"])
        #expect(all.status == 0 && all.stdout.split(separator: "\n").count == Mark.allCases.count)
        let storm = try CLI.run(["marks", "--scenario", "claim-storm", "--json"])
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(storm.stdout.utf8)) as? [[String: String]])
        #expect(listed.map { $0["name"] ?? "" }.contains("claim-refused-not-newer"))
        let unknown = try CLI.run(["marks", "--scenario", "nope"])
        #expect(unknown.status == 2 && unknown.stderr.contains("unknown scenario 'nope'"), "\(unknown.stderr)")
    }
}

/// `agentos explore --guided`, `run --branch`.
@Suite("agentos explore --guided")
struct GuidedExploreTests {
    func summary(_ arguments: [String]) throws -> [String: Any] {
        let result = try CLI.run(arguments)
        #expect(result.status == 0, "\(result.stderr)")
        var object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        object["wallSeconds"] = nil
        object["seedsPerSecond"] = nil
        return object
    }

    @Test("the same --start and budget give the same runs and verdicts with one job or two, and branch most runs after the warm-up")
    func deterministicAcrossJobs() throws {
        let flags = ["explore", "--guided", "--scenario", "proxy-crash", "--seeds", "16", "--start", "3", "--json"]
        let one = try summary(flags + ["--jobs", "1"])
        let two = try summary(flags + ["--jobs", "2"])
        #expect(NSDictionary(dictionary: one).isEqual(to: two))
        let guided = try #require(one["guided"] as? [String: Any])
        #expect((guided["branched"] as? Int ?? 0) >= 4 && (guided["corpus"] as? Int ?? 0) >= 1, "\(guided)")
        #expect(one["seeds"] as? Int == 16 && one["passed"] as? Int == 16)
    }

    @Test("a branched run recorded with run --branch replays event for event; a bad --branch, --guided with --shard, and merging a guided summary are refused")
    func branchedRunReplays() throws {
        let trace = CLI.temporaryPath("branched.jsonl")
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let run = try CLI.run(["run", "--scenario", "smoke", "--seed", "4", "--branch", "15000000000:99", "--trace", trace])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("rerun: agentos run --scenario smoke --seed 4 --branch 15000000000:99"))
        let replay = try CLI.run(["replay", trace, "--exact"])
        #expect(replay.status == 0 && replay.stdout.contains("identical"), "\(replay.stdout)\(replay.stderr)")
        let bad = try CLI.run(["run", "--scenario", "smoke", "--branch", "later:1"])
        #expect(bad.status == 2 && bad.stderr.contains("--branch takes AT:SEED"), "\(bad.stderr)")
        let sharded = try CLI.run(["explore", "--guided", "--scenario", "smoke", "--seeds", "4", "--shard", "0/2"])
        #expect(sharded.status == 2 && sharded.stderr.contains("takes no --shard"), "\(sharded.stderr)")
        let guided = try CLI.run(["explore", "--guided", "--scenario", "smoke", "--seeds", "2", "--json"])
        let file = CLI.temporaryPath("guided-summary.json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try guided.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        let merged = try CLI.run(["explore-merge", file])
        #expect(merged.status == 2 && merged.stderr.contains("is a guided search"), "\(merged.stderr)")
        let plainSignature = try CLI.run(["explore", "--scenario", "smoke", "--seeds", "2", "--state-signature"])
        #expect(plainSignature.status == 2 && plainSignature.stderr.contains("is for --guided"), "\(plainSignature.stderr)")
    }

    @Test("--state-signature makes many more features than the marks alone, and the search stays deterministic")
    func stateSignatureFeatures() throws {
        let flags = ["explore", "--guided", "--scenario", "proxy-crash", "--seeds", "10", "--json"]
        let marksOnly = try #require(try summary(flags)["guided"] as? [String: Any])
        let withSignature = try summary(flags + ["--state-signature"])
        let again = try summary(flags + ["--state-signature", "--jobs", "1"])
        #expect(NSDictionary(dictionary: withSignature).isEqual(to: again))
        let guided = try #require(withSignature["guided"] as? [String: Any])
        #expect((guided["features"] as? Int ?? 0) > 5 * (marksOnly["features"] as? Int ?? 0), "\(guided) vs \(marksOnly)")
    }
}
