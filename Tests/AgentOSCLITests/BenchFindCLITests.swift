import Foundation
import Testing

/// `agentos bench find`, `run --plant` and `explore --plant` through the binary.
@Suite("agentos bench find and planted bugs on the command line", .serialized)
struct BenchFindCLITests {
    @Test("bench find --list names every planted bug with its role; run --plant fails a seed the correct code passes")
    func listAndPlant() throws {
        let list = try CLI.run(["bench", "find", "--list"])
        #expect(list.status == 0)
        #expect(list.stdout.split(separator: "\n").count >= 15 && list.stdout.contains("caching-status-gateway  "))
        #expect(try CLI.run(["run", "--scenario", "smoke", "--seed", "1"]).status == 0)
        let planted = try CLI.run(["run", "--scenario", "smoke", "--seed", "1", "--plant", "caching-status-gateway"])
        #expect(planted.status == 1 && planted.stdout.contains("client outcome"), "\(planted.stdout)")
        #expect(planted.field("rerun") == "agentos run --scenario smoke --seed 1 --plant caching-status-gateway")
    }

    @Test("an unknown bug, strategy or scenario, --plant with --trace or --guided, and thresholds of another budget are refused with exit 2")
    func badInput() throws {
        let bug = try CLI.run(["bench", "find", "--bugs", "caching-status-gatewy"])
        #expect(bug.status == 2 && bug.stderr.contains("no planted bug named 'caching-status-gatewy'") && bug.stderr.contains("hasty-owner"), "\(bug.stderr)")
        let strategy = try CLI.run(["bench", "find", "--strategies", "lucky"])
        #expect(strategy.status == 2 && strategy.stderr.contains("no strategy named 'lucky'"), "\(strategy.stderr)")
        let scenario = try CLI.run(["bench", "find", "--scenarios", "swarm"])
        #expect(scenario.status == 2 && scenario.stderr.contains("--scenarios takes named scenarios"), "\(scenario.stderr)")
        #expect(try CLI.run(["run", "--plant", "nope"]).status == 2)
        let traced = try CLI.run(["run", "--plant", "hasty-owner", "--trace", CLI.temporaryPath("t.jsonl")])
        #expect(traced.status == 2 && traced.stderr.contains("leave out --trace"), "\(traced.stderr)")
        #expect(try CLI.run(["explore", "--guided", "--plant", "hasty-owner", "--seeds", "2"]).status == 2)
        let file = CLI.temporaryPath("find.json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let recorded = try CLI.run(["bench", "find", "--bugs", "client-blind-key-gateway", "--strategies", "swarm", "--explorers", "1", "--budget", "5", "--record", file])
        #expect(recorded.status == 0, "\(recorded.stderr)")
        let other = try CLI.run(["bench", "find", "--bugs", "client-blind-key-gateway", "--explorers", "1", "--budget", "6", "--check", file])
        #expect(other.status == 2 && other.stderr.contains("are for --budget 5 --explorers 1"), "\(other.stderr)")
    }

    @Test("bench find finds an easy bug under plain and guided strategies, names the invariant and a rerun that fails, and --check passes its own record")
    func smallBench() throws {
        let file = CLI.temporaryPath("thresholds.json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let arguments = ["bench", "find", "--bugs", "caching-status-gateway,failure-dropping-worker", "--explorers", "1", "--budget", "10", "--strategies", "scenarios,guided-swarm", "--jobs", "2"]
        let result = try CLI.run(arguments + ["--json", "--record", file])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let searches = try #require(report["searches"] as? [[String: Any]])
        #expect(searches.count == 2 * 2)
        for search in searches {
            #expect(search["found"] as? Bool == true, "\(search)")
            #expect((search["cpuSeconds"] as? Double ?? 0) > 0)
        }
        let calls = try #require(searches.first { $0["bug"] as? String == "failure-dropping-worker" })
        #expect((calls["invariants"] as? [String])?.contains("call accounting") == true, "\(calls)")
        let rerun = try #require(calls["rerun"] as? String)
        let again = try CLI.run(Array(rerun.split(separator: " ").dropFirst().map(String.init)))
        #expect(again.status == 1, "\(rerun): \(again.stdout)")
        // The same searches again: the runs are the same, so the record passes its own check.
        let checked = try CLI.run(arguments + ["--check", file, "--jobs", "1"])
        #expect(checked.status == 0 && checked.stdout.contains("no regression"), "\(checked.stdout)\(checked.stderr)")
    }
}
