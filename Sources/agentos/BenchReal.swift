import ArgumentParser
import Campaigns
import ClusterTest
import Determinism
import FakeLLM
import Foundation
import Scenarios
import Sim

/// The guide's load example against a real `agentos serve` and the same workload in the
/// simulator, side by side: does the model predict the real shell?
struct BenchReal: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "real",
        abstract: "The guide's load example on a real default `serve` and in simulation, with the same arrivals: latency side by side.",
        discussion: """
            For each seed, the simulator runs the `poisson` workload (60 requests at 0.2/s, the reference's five \
            task shapes) on the topology a default `serve` has (2 x 2 proxies, one realistic fake LLM), and a real \
            `agentos serve` child process gets the very same arrival schedule from `agentos load --arrivals-seed`. \
            --speedup runs the real cluster (its clocks, timers and LLM) that many times faster; latencies are \
            reported in the cluster's own seconds either way.
            """
    )

    @Option(help: "How many seeds.") var seeds = 3
    @Option(help: "The first seed.") var start: UInt64 = 1
    @Option(help: "Run the real cluster this many times faster (1 = the guide's example as written, about 8 minutes a seed).")
    var speedup = 10
    @Option(help: "Requests per run.") var requests = 60
    @Flag(help: "Print the figures as JSON.") var json = false

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard speedup >= 1 else { throw ValidationError("--speedup must be at least 1") }
        guard requests >= 1 else { throw ValidationError("--requests must be at least 1") }
    }

    struct Row: Encodable {
        let seed: UInt64
        let simulated: Summary
        let real: Summary
    }

    struct Summary: Encodable {
        let completed: Int
        let requests: Int
        let mean: Double
        let p50: Double
        let p90: Double
        let max: Double

        init(_ latencies: [Double], requests: Int) {
            let sorted = latencies.sorted()
            func at(_ percent: Int) -> Double { Percentile.nearestRank(percent, of: sorted) ?? 0 }
            completed = sorted.count
            self.requests = requests
            mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
            p50 = at(50)
            p90 = at(90)
            max = sorted.last ?? 0
        }
    }

    var scenario: Scenario {
        var scenario = ScenarioLibrary.poisson
        scenario.reshape(like: .serveDefault)
        scenario.llm = FakeLLMProfile.realistic.config
        scenario.workload.requestsPerClient = requests
        return scenario
    }

    func run() throws {
        var rows: [Row] = []
        for seed in start..<(start + UInt64(seeds)) {
            let run = try ScenarioRun(scenario: scenario, seed: seed)
            _ = try run.execute()
            let simulated = Summary(run.latencies.map { Double($0) / 1e9 }, requests: requests)
            if !json { FileHandle.standardError.write(Data("seed \(seed): simulated; running the real cluster at x\(speedup)...\n".utf8)) }
            let real = try realRun(seed: seed)
            rows.append(Row(seed: seed, simulated: simulated, real: real))
        }
        if json {
            printJSON(rows)
            return
        }
        print("the guide's load example (poisson 0.2/s, \(requests) requests, reference tasks) on a default serve, x\(speedup), vs the simulator")
        print("  seed  simulated: done  mean    p50     p90     max     | real: done  mean    p50     p90     max     | real/sim mean")
        for row in rows {
            let (s, r) = (row.simulated, row.real)
            print(
                String(
                    format: "  %-5llu %4d/%-4d %7.1f %7.1f %7.1f %7.1f | %4d/%-4d %7.1f %7.1f %7.1f %7.1f | %.2f", row.seed, s.completed, s.requests, s.mean, s.p50,
                    s.p90, s.max, r.completed, r.requests, r.mean, r.p50, r.p90, r.max, r.mean / max(s.mean, 1e-9)))
        }
        let simulatedMean = rows.map(\.simulated.mean).reduce(0, +) / Double(rows.count)
        let realMean = rows.map(\.real.mean).reduce(0, +) / Double(rows.count)
        print(String(format: "  over %d seed(s): simulated mean %.1f s, real mean %.1f s, real/sim %.2f", rows.count, simulatedMean, realMean, realMean / simulatedMean))
    }

    /// A fresh `serve` (default flags, its own data directory) driven by `load` with the seed's arrivals.
    func realRun(seed: UInt64) throws -> Summary {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-bench-real-\(getpid())-\(seed)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let serve = try ChildProcess(
            name: "serve", arguments: ["serve", "--port", "0", "--data-dir", data, "--speedup", String(speedup), "--seed", String(seed), "--log-level", "warning"],
            readyMarker: "agentos serving")
        defer { serve.stop() }
        guard let url = serve.url else { throw CLIError("serve did not print its URL: \(serve.banner)") }

        let output = Data(
            try runChild([
                "load", "--url", url, "--pattern", "poisson", "--rate", "0.2", "--requests", String(requests), "--reference", "--poll", "3",
                "--arrivals-seed", String(seed), "--speedup", String(speedup), "--json",
            ]).stdout.utf8)
        guard let report = try? JSONSerialization.jsonObject(with: output) as? [String: Any], let latencies = report["latencies"] as? [Double] else {
            throw CLIError("load printed no report: \(String(decoding: output, as: UTF8.self).prefix(300))")
        }
        return Summary(latencies, requests: requests)
    }
}
