import Foundation
import Testing

@Suite("agentos sim and bench, as separate processes")
struct SimCommandTests {
    @Test("the same seed gives the same trace hash in two separate processes; another seed differs")
    func sameSeedSameHashAcrossProcesses() throws {
        let first = try CLI.run(["sim", "run", "--seed", "77", "--duration-ms", "3000"])
        let second = try CLI.run(["sim", "run", "--seed", "77", "--duration-ms", "3000"])
        let other = try CLI.run(["sim", "run", "--seed", "78", "--duration-ms", "3000"])
        #expect(first.status == 0, "\(first.stderr)")
        let hash = try #require(first.field("hash"))
        #expect(hash.hasPrefix("0x") && hash.count == 18)
        #expect(second.field("hash") == hash)
        #expect(other.field("hash") != hash)
    }

    @Test("the seed and the rerun command are printed before anything else")
    func seedPrintedFirst() throws {
        let result = try CLI.run(["sim", "run", "--seed", "5", "--duration-ms", "500", "--no-faults"])
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "seed: 5")
        #expect(lines.dropFirst().first == "rerun: agentos sim run --seed 5 --duration-ms 500 --no-faults")
    }

    @Test("a trace written by one process replays as identical in another")
    func traceReplaysAcrossProcesses() throws {
        let path = CLI.temporaryPath("trace.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let run = try CLI.run(["sim", "run", "--seed", "9", "--duration-ms", "2000", "--trace", path])
        #expect(run.status == 0, "\(run.stderr)")
        let replay = try CLI.run(["sim", "replay", path])
        #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
        #expect(replay.stdout.hasPrefix("identical:"))
        #expect(replay.stdout.contains(run.field("hash")!))
    }

    @Test("a tampered trace replays as diverged with exit status 1 and names the event")
    func tamperedTraceDiverges() throws {
        let path = CLI.temporaryPath("tampered.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try CLI.run(["sim", "run", "--seed", "10", "--duration-ms", "1000", "--trace", path])
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[40] = lines[40].replacingOccurrences(of: "\"t\":", with: "\"t\":1")
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let replay = try CLI.run(["sim", "replay", path, "--json"])
        #expect(replay.status == 1)
        let verdict = try JSONSerialization.jsonObject(with: Data(replay.stdout.utf8)) as? [String: Any]
        #expect(verdict?["identical"] as? Bool == false)
        #expect(verdict?["divergenceIndex"] as? Int == 39)
    }

    @Test("bad input gives a one-line error and exit status 2, never a crash")
    func badInputIsRejected() throws {
        let missing = try CLI.run(["sim", "replay", "/nonexistent/trace.jsonl"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "error: cannot read trace '/nonexistent/trace.jsonl': no such file\n")

        let truncatedPath = CLI.temporaryPath("truncated.jsonl")
        defer { try? FileManager.default.removeItem(atPath: truncatedPath) }
        _ = try CLI.run(["sim", "run", "--seed", "3", "--duration-ms", "500", "--trace", truncatedPath])
        let full = try String(contentsOfFile: truncatedPath, encoding: .utf8)
        try String(full.prefix(full.count / 2)).write(toFile: truncatedPath, atomically: true, encoding: .utf8)
        let truncated = try CLI.run(["sim", "replay", truncatedPath])
        #expect(truncated.status == 2)
        #expect(truncated.stderr.hasPrefix("error: trace line") || truncated.stderr.hasPrefix("error: trace is truncated"))
        #expect(truncated.stderr.split(separator: "\n").count == 1)

        let versionPath = CLI.temporaryPath("version.jsonl")
        defer { try? FileManager.default.removeItem(atPath: versionPath) }
        try full.replacingOccurrences(of: "\"version\":2", with: "\"version\":7").write(toFile: versionPath, atomically: true, encoding: .utf8)
        let version = try CLI.run(["sim", "replay", versionPath])
        #expect(version.status == 2)
        #expect(version.stderr.contains("version 7 is not supported"))

        let configPath = CLI.temporaryPath("config.json")
        defer { try? FileManager.default.removeItem(atPath: configPath) }
        try "{\"nodes\": \"many\"}".write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try CLI.run(["sim", "run", "--config", configPath])
        #expect(config.status == 2)
        #expect(config.stderr.contains("does not parse"))

        let flag = try CLI.run(["sim", "run", "--seed", "-4"])
        #expect(flag.status == 2)
        let nodes = try CLI.run(["sim", "run", "--nodes", "1"])
        #expect(nodes.status == 2)
        #expect(nodes.stderr.contains("nodes must be at least 2"))
    }

    @Test("bench kernel reports throughput and memory as JSON")
    func benchKernelReports() throws {
        let result = try CLI.run(["bench", "kernel", "--steps", "20000", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.count == 2)
        #expect((rows?.last?["steps"] as? Int) == 20000)
        #expect((rows?.last?["eventsPerSecond"] as? Double ?? 0) > 0)
    }
}
