import Foundation
import Testing

import ClusterTest
import Server
@testable import agentos

/// `agentos cluster-test`: the simulator's checkers over a real cluster's history.
@Suite("agentos cluster-test on real processes", .serialized)
struct ClusterTestTests {
    func run(_ arguments: [String]) throws -> (status: Int32, report: [String: Any]) {
        let result = try CLI.run(["cluster-test", "--json"] + arguments)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout) \(result.stderr)")
        return (result.status, report)
    }

    func failed(_ report: [String: Any]) -> [String] {
        ((report["checks"] as? [[String: Any]]) ?? []).filter { $0["passed"] as? Bool == false }.compactMap { $0["name"] as? String }
    }

    @Test("the correct cluster passes every applicable checker under SIGKILLs and SIGSTOPs of every process, and --record keeps the run without a secret")
    func correctClusterPasses() throws {
        let folder = CLI.temporaryPath("ct-kept")
        let recording = CLI.temporaryPath("ct-recording")
        defer {
            try? FileManager.default.removeItem(atPath: folder)
            try? FileManager.default.removeItem(atPath: recording)
        }
        let (status, report) = try run([
            "--duration", "15", "--requests", "6", "--fault-gap", "2-3", "--seed", "3", "--keep", folder, "--record", recording,
            "--faults", "kill-a,kill-b,kill-c,pause-a,pause-b,pause-c,pause-llm",
        ])
        #expect(status == 0, "\(failed(report)): \(report["violations"] ?? "")")
        #expect((report["faults"] as? [String])?.count ?? 0 >= 3, "faults were injected")
        #expect(report["converged"] as? Bool == true)
        #expect(report["taskRows"] as? Int == 18, "one task per request")
        let skipped = ((report["checks"] as? [[String: Any]]) ?? []).filter { $0["ran"] as? Bool == false }.compactMap { $0["invariant"] as? Int }
        #expect(skipped.isEmpty, "every checker has real-run data")
        #expect(report["messageEvents"] as? Int ?? 0 > 100, "the LLM work traffic was recorded")
        let calls = ((report["checks"] as? [[String: Any]]) ?? []).first { $0["invariant"] as? Int == 12 }
        #expect((calls?["evidence"] as? String)?.hasPrefix("0 ") == false, "call accounting judged real calls: \(calls ?? [:])")
        let prompts = ((report["checks"] as? [[String: Any]]) ?? []).first { $0["invariant"] as? Int == 11 }
        #expect((prompts?["evidence"] as? String)?.hasPrefix("0 ") == false, "prompt correctness judged the fake LLM's call log: \(prompts ?? [:])")

        // The recording: every LLM call as a cassette entry, every fault, and nothing secret.
        // Every answer a proxy received is an entry; a proxy killed mid-call records none, and
        // a call that failed at the proxy (the LLM paused) is an entry the fake LLM never saw.
        let entries = try CassetteFiles.load(recording)
        let served = try String(contentsOfFile: recording + "/history-llm.jsonl", encoding: .utf8)
        let answeredEntries = entries.filter { $0.status == 200 }
        #expect(answeredEntries.count > 20)
        #expect(answeredEntries.allSatisfy { served.contains($0.answer!.jsonEscapedForTest) }, "every recorded answer is one the fake LLM gave")
        let answered = Int((calls?["evidence"] as? String)?.split(separator: " ").first ?? "") ?? -1
        #expect(answeredEntries.count <= answered && answeredEntries.count * 10 >= answered * 8, "\(answeredEntries.count) of \(answered) calls")
        let faultLines = try String(contentsOfFile: recording + "/faults.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(faultLines.count == (report["faults"] as? [String])?.count)
        let secret = try String(contentsOfFile: folder + "/secret", encoding: .utf8)
        for file in try FileManager.default.subpathsOfDirectory(atPath: recording) where !file.hasSuffix(".sqlite") {
            guard let text = try? String(contentsOfFile: recording + "/" + file, encoding: .utf8) else { continue }
            #expect(!text.contains(secret), "the role secret leaked into \(file)")
            #expect(!text.contains("PRIVATE KEY"), "a private key leaked into \(file)")
        }
        #expect(!FileManager.default.fileExists(atPath: recording + "/certs") && !FileManager.default.fileExists(atPath: recording + "/secret"))
        let rejudged = try CLI.run(["check", recording])
        #expect(rejudged.status == 0, "the recording is judged as the run was: \(rejudged.stdout.suffix(800))")
        let replayed = try CLI.run(["replay-real", recording, "--json"])
        #expect(replayed.status == 0, "the correct run replays clean in the simulator: \(replayed.stdout.suffix(800))")
        let comparison = try JSONSerialization.jsonObject(with: Data(replayed.stdout.utf8)) as? [String: Any]
        #expect(comparison?["sameVerdict"] as? Bool == true)
        #expect((comparison?["cassetteMatched"] as? Int ?? 0) > 0, "some LLM calls answered from the recording")
    }

    @Test("a run recorded on real processes replays in the simulator: its planted core bug fails the same checker there, the correct code passes it, and the replay's trace replays exactly")
    func recordedRunReplaysInTheSimulator() throws {
        let recording = CLI.temporaryPath("ct-replay")
        let trace = CLI.temporaryPath("replayed.jsonl")
        defer {
            try? FileManager.default.removeItem(atPath: recording)
            try? FileManager.default.removeItem(atPath: trace)
        }
        let (status, report) = try run([
            "--duration", "12", "--requests", "6", "--seed", "4", "--faults", "kill-a", "--fault-gap", "3-4", "--plant", "forgetful-gateway", "--record", recording,
            "--liveness", "10",
        ])
        #expect(status == 1)
        #expect(failed(report).contains("client view"), "a gateway that forgets its tasks on restart: \(failed(report))")

        let replayed = try CLI.run(["replay-real", recording, "--json"])
        #expect(replayed.status == 1)
        let comparison = try #require(try JSONSerialization.jsonObject(with: Data(replayed.stdout.utf8)) as? [String: Any], "\(replayed.stderr)")
        #expect(comparison["reproduced"] as? Bool == true, "every checker the real run failed fails in the replay: \(comparison["replayFailed"] ?? "")")
        #expect((comparison["replayFailed"] as? [String])?.contains("client view") == true)
        #expect((comparison["replayedFaults"] as? [String])?.count == (report["faults"] as? [String])?.count)

        let correct = try CLI.run(["replay-real", recording, "--no-plant"])
        #expect(correct.status == 0, "the same recording on the correct code passes: \(correct.stdout.suffix(600))")
        let traced = try CLI.run(["replay-real", recording, "--no-plant", "--llm", "generator", "--trace", trace])
        #expect(traced.status == 0)
        let exact = try CLI.run(["replay", trace, "--exact"])
        #expect(exact.status == 0 && exact.stdout.contains("identical"), "\(exact.stdout.suffix(400))")
        let refused = try CLI.run(["replay-real", recording, "--llm", "generator", "--trace", trace])
        #expect(refused.status == 2 && refused.stderr.contains("no trace can name"), "\(refused.stderr)")
    }

    @Test("partitions cut processes off for real where network namespaces are allowed, and the correct cluster still passes")
    func partitionsPass() throws {
        guard ClusterNetwork.unavailableReason() == nil else {
            print("skipped: network namespaces are unavailable here (\(ClusterNetwork.unavailableReason()!))")
            return
        }
        let (status, report) = try run([
            "--duration", "15", "--requests", "6", "--fault-gap", "2-3", "--seed", "5", "--faults", "partition-a,partition-b,partition-c,partition-llm",
        ])
        #expect(status == 0, "\(failed(report)): \(report["violations"] ?? "")")
        #expect((report["network"] as? String)?.hasPrefix("network namespaces") == true)
        #expect((report["faults"] as? [String])?.allSatisfy { $0.contains("partition") } == true)
        #expect(report["converged"] as? Bool == true)
    }

    @Test("link faults (delay, loss, one-way cuts, splits, flapping) each drop or hold real traffic, and the correct cluster still passes")
    func linkFaultsPass() throws {
        guard ClusterNetwork.unavailableReason() == nil else {
            print("skipped: network namespaces are unavailable here (\(ClusterNetwork.unavailableReason()!))")
            return
        }
        try #require(LinkPlane.nftTool != nil, "nftables' `nft` is needed for link faults (.ci/run installs it)")
        let (status, report) = try run([
            "--duration", "24", "--requests", "6", "--fault-gap", "1-2", "--fault-length", "2-3", "--seed", "6", "--faults",
            "delay,loss,one-way,split-minority,split-halves,flapping",
        ])
        #expect(status == 0, "\(failed(report)): \(report["violations"] ?? "")")
        let faults = (report["faults"] as? [String]) ?? []
        #expect(faults.count >= 4, "\(faults)")
        // Each fault line ends with what it did; every one of them did something.
        for line in faults {
            let count = line.split(separator: ":").last.flatMap { Int($0.split(separator: " ").first ?? "") }
            #expect((count ?? 0) > 0, "a fault that touched no traffic: \(line)")
        }
        #expect(report["converged"] as? Bool == true)
        #expect(report["recoverySeconds"] as? Double != nil)
    }

    @Test("the store stalled past every timeout, its disk full, and every clock skewed: the correct cluster survives each and recovers")
    func storeDiskAndClockFaultsPass() throws {
        guard geteuid() == 0 else {
            print("skipped: disk-full mounts a small filesystem, which needs root")
            return
        }
        let (stallStatus, stalled) = try run(["--duration", "8", "--requests", "4", "--fault-gap", "1-2", "--seed", "8", "--faults", "stall-store"])
        #expect(stallStatus == 0, "\(failed(stalled)): \(stalled["violations"] ?? "")")
        #expect((stalled["faults"] as? [String])?.first?.contains("past every timeout for 12.0s") == true, "a stall outlasts the 10 s timeouts: \(stalled["faults"] ?? "")")
        #expect(stalled["converged"] as? Bool == true)
        let (status, report) = try run([
            "--duration", "20", "--requests", "8", "--fault-gap", "1-2", "--fault-length", "2-3", "--seed", "10", "--faults", "disk-full,clock-skew",
            "--role-plane", "secret",
        ])
        #expect(status == 0, "\(failed(report)): \(report["violations"] ?? "")")
        let faults = (report["faults"] as? [String]) ?? []
        #expect(faults.contains { $0.contains("clocks a ") }, "\(faults)")
        #expect(faults.contains { $0.contains("disk full") }, "\(faults)")
        // A full disk makes the store refuse requests; the clients still see every task final.
        for line in faults where line.contains("disk full") {
            let count = line.split(separator: ":").last.flatMap { Int($0.split(separator: " ").first ?? "") }
            #expect(count != nil, "\(line)")
        }
        #expect(report["acknowledged"] as? Int == report["finished"] as? Int)
        #expect(report["taskRows"] as? Int == 24, "every acknowledged task kept, none twice")
    }

    @Test("a planted real-shell bug (the client API drops idempotency keys) fails exactly-once when the gateway's process is paused")
    func plantedBugIsCaught() throws {
        let (status, report) = try run([
            "--duration", "15", "--requests", "8", "--faults", "pause-a", "--fault-length", "3-4", "--fault-gap", "2-4",
            "--planted-bug", "ignore-request-id",
        ])
        #expect(status == 1)
        #expect(failed(report).contains("exactly-once tasks"), "\(failed(report))")
        // The folder it kept, judged again later from its files, gets the same verdicts.
        let folder = try #require(report["folder"] as? String)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let check = try CLI.run(["check", folder, "--json"])
        #expect(check.status == 1, "\(check.stderr)")
        let judged = try #require(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [[String: Any]], "\(check.stdout) \(check.stderr)")
        let rejudged = try #require(judged.first?["checks"] as? [[String: Any]])
        let original = try #require(report["checks"] as? [[String: Any]])
        #expect(rejudged.map { "\($0["invariant"]!) \($0["passed"]!) \($0["violations"]!) \($0["evidence"]!)" }
            == original.map { "\($0["invariant"]!) \($0["passed"]!) \($0["violations"]!) \($0["evidence"]!)" })
    }

    @Test("SIGKILL of every process at once and a cold restart of the whole cluster lose no acknowledged task")
    func coldRestartLosesNothing() throws {
        let (status, report) = try run(["--duration", "12", "--requests", "6", "--fault-gap", "3-4", "--fault-length", "1-2", "--seed", "2", "--faults", "kill-all"])
        #expect(status == 0, "\(failed(report)): \(report["violations"] ?? "")")
        #expect((report["faults"] as? [String])?.contains { $0.contains("SIGKILL every process") } == true, "\(report["faults"] ?? "")")
        #expect(report["acknowledged"] as? Int == report["finished"] as? Int)
        #expect(report["taskRows"] as? Int == 18, "every acknowledged task kept, none twice")
    }

    @Test("bad flags are refused with exit status 2")
    func badFlags() throws {
        for flags in [["--faults", "kill-z"], ["--fault-gap", "5-1"], ["--duration", "1"], ["--planted-bug", "nope"],
            ["--network", "loopback", "--faults", "partition-a"], ["--network", "loopback", "--faults", "delay"], ["--network", "mesh"],
            ["--store", "postgres://x@127.0.0.1:1/x", "--faults", "disk-full"], ["--record", FileManager.default.currentDirectoryPath],
            ["--plant", "no-such-bug"], ["--plant", "unsynced-store"], ["--compare-sim", "--parity", "smoke"], ["--compare-sim", "--gap-threshold", "2"],
        ] {
            let result = try CLI.run(["cluster-test"] + flags)
            #expect(result.status == 2, "\(flags): \(result.stderr)")
        }
    }
}

@Suite("Parity: one scenario in the simulator and on real processes", .serialized)
struct ParityTests {
    @Test("smoke and graph-dag pass the same checkers both ways, and the real mean latency is within 35 % of the simulated one")
    func parity() throws {
        for scenario in ["smoke", "graph-dag"] {
            let result = try CLI.run(["cluster-test", "--json", "--parity", scenario, "--speedup", "10"])
            let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout) \(result.stderr)")
            let parity = try #require(report["parity"] as? [String: Any])
            #expect(result.status == 0, "\(scenario): \(parity)")
            #expect(parity["simulatedPassed"] as? Bool == true)
            #expect(report["passed"] as? Bool == true)
            let ratio = try #require(parity["ratio"] as? Double)
            #expect(abs(ratio - 1) <= 0.35, "\(scenario): real/sim \(ratio)")
        }
    }
}

extension String {
    /// The string as JSONEncoder writes it inside quotes (to find it in a JSON-lines file).
    var jsonEscapedForTest: String {
        let encoded = String(decoding: try! JSONEncoder().encode(self), as: UTF8.self)
        return String(encoded.dropFirst().dropLast())
    }
}
