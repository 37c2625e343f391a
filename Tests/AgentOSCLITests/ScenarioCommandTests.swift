import Checks
import Foundation
import Scenarios
import Testing

@Suite("agentos run, replay, explore and shrink, as separate processes", .serialized)
struct ScenarioCommandTests {
    @Test("a scenario seed gives the same hash in two processes; another seed differs")
    func sameHashAcrossProcesses() throws {
        let a = try CLI.run(["run", "--scenario", "swarm", "--seed", "5"])
        let b = try CLI.run(["run", "--scenario", "swarm", "--seed", "5"])
        let c = try CLI.run(["run", "--scenario", "swarm", "--seed", "6"])
        #expect(a.status == 0, "\(a.stdout)\(a.stderr)")
        let hash = try #require(a.field("hash"))
        #expect(b.field("hash") == hash)
        #expect(c.field("hash") != hash)
        #expect(a.stdout.hasPrefix("scenario: swarm, seed: 5\nrerun: agentos run --scenario swarm --seed 5\n"))
    }

    @Test("agentos run --scenario smoke --seed 1 passes")
    func smokePasses() throws {
        let result = try CLI.run(["run", "--scenario", "smoke", "--seed", "1", "--json"])
        #expect(result.status == 0)
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(report?["passed"] as? Bool == true)
        #expect(report?["completed"] as? Int == 4)
    }

    @Test("agentos check judges a recorded trace with the run's own verdicts, writes JUnit, and refuses what it cannot judge")
    func checkJudgesATrace() throws {
        let path = CLI.temporaryPath("checked.jsonl")
        let junit = CLI.temporaryPath("checked.xml")
        defer { for file in [path, junit] { try? FileManager.default.removeItem(atPath: file) } }
        let run = try CLI.run(["run", "--scenario", "store-outage", "--seed", "4", "--trace", path, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let check = try CLI.run(["check", path, "--json", "--junit", junit])
        #expect(check.status == 0, "\(check.stderr)")
        let recorded = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let judged = try #require((try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [[String: Any]])?.first?["run"] as? [String: Any])
        func canonical(_ object: [String: Any]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(try canonical(judged) == canonical(recorded), "the judged report is the run's")
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("tests=\"16\" failures=\"0\""), "\(xml)")
        let text = try CLI.run(["check", path])
        #expect(text.stdout.contains("judged from the file; nothing re-run") && text.stdout.contains("result: PASS"), "\(text.stdout)")

        let missing = try CLI.run(["check", "/nonexistent/run.jsonl"])
        #expect(missing.status == 2 && missing.stderr.contains("no such file"), "\(missing.stderr)")
        let traces = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../traces").standardized
        let old = try CLI.run(["check", traces.appendingPathComponent("proxy-crash-seed-10-owner-waited-for-dead-worker.jsonl").path])
        #expect(old.status == 2 && old.stderr.contains("no store snapshot"), "\(old.stderr)")
        let folder = CLI.temporaryPath("not-a-run")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let notARun = try CLI.run(["check", folder])
        #expect(notARun.status == 2 && notARun.stderr.contains("not the folder of a cluster test"), "\(notARun.stderr)")
    }

    @Test("a recorded scenario trace replays identically in another process, and re-runs clean on today's code")
    func exactReplayAcrossProcesses() throws {
        let path = CLI.temporaryPath("scenario.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try CLI.run(["run", "--scenario", "proxy-crash", "--seed", "3", "--trace", path])
        #expect(run.status == 0, "\(run.stdout)")
        let exact = try CLI.run(["replay", path, "--exact"])
        #expect(exact.status == 0, "\(exact.stdout)\(exact.stderr)")
        #expect(exact.stdout.contains("identical:") && exact.stdout.contains(run.field("hash")!))
        let rerun = try CLI.run(["replay", path])
        #expect(rerun.status == 0)
        #expect(rerun.stdout.contains("result: PASS"))
        let picture = CLI.temporaryPath("perfetto.json")
        defer { try? FileManager.default.removeItem(atPath: picture) }
        let exported = try CLI.run(["replay", path, "--perfetto", picture])
        #expect(exported.status == 0 && exported.stdout.contains("wrote \(picture)"))
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: picture))) as? [String: Any]
        #expect((document?["traceEvents"] as? [Any])?.isEmpty == false)
        let timeline = try CLI.run(["replay", path, "--focus", "task=2"])
        #expect(timeline.stdout.contains("\"task\":2"))
        #expect(!timeline.stdout.contains("\"task\":3,"))
    }

    @Test("explore sweeps seeds in child processes and reports JSON and JUnit")
    func exploreReports() throws {
        let junit = CLI.temporaryPath("junit.xml")
        defer { try? FileManager.default.removeItem(atPath: junit) }
        let result = try CLI.run(["explore", "--scenario", "swarm", "--seeds", "12", "--batch", "5", "--jobs", "2", "--shard", "0/2", "--json", "--junit", junit])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(summary?["seeds"] as? Int == 6, "shard 0/2 of 12 seeds")
        #expect(summary?["passed"] as? Int == 6)
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("tests=\"\(6 * Invariant.allCases.count)\" failures=\"0\""), "one case per seed and checker")
        #expect(xml.contains("name=\"12 call accounting\""))
    }

    @Test("a seed that kills its process is isolated: the sweep finishes, the seed is reported crashed, every other result is kept")
    func exploreSurvivesACrash() throws {
        let result = try CLI.run(["explore", "--scenario", "smoke", "--seeds", "8", "--batch", "4", "--keep", "0", "--inject-crash-seed", "3", "--json"])
        #expect(result.status == 1)
        let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(summary?["seeds"] as? Int == 8)
        #expect(summary?["passed"] as? Int == 7)
        #expect(summary?["crashed"] as? Int == 1)
        #expect(summary?["failing"] as? [Int] == [3])
    }

    @Test("bad input: unknown scenario, bad shard, bad scenario file, unusable trace, nothing to shrink")
    func badInput() throws {
        let unknown = try CLI.run(["run", "--scenario", "nope"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown scenario 'nope' (known: smoke"))
        let shard = try CLI.run(["explore", "--shard", "3/2"])
        #expect(shard.status == 2)
        #expect(shard.stderr.contains("--shard takes I/K"))
        let file = CLI.temporaryPath("bad.json")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "{\"name\": 3}".write(toFile: file, atomically: true, encoding: .utf8)
        let badFile = try CLI.run(["run", "--scenario", file])
        #expect(badFile.status == 2)
        #expect(badFile.stderr.contains("does not parse"))
        let trace = try CLI.run(["replay", file])
        #expect(trace.status == 2)
        let passing = CLI.temporaryPath("passing.jsonl")
        defer { try? FileManager.default.removeItem(atPath: passing) }
        _ = try CLI.run(["run", "--scenario", "smoke", "--trace", passing])
        let shrink = try CLI.run(["shrink", passing])
        #expect(shrink.status == 2)
        #expect(shrink.stderr.contains("nothing to shrink"))
    }
}
