import ArgumentParser
import Checks
import Foundation
import Scenarios

/// One seed's verdict, as a child prints it (one JSON line).
struct SeedResult: Codable {
    var seed: UInt64
    var passed: Bool
    var invariants: [Int]
    var firstViolation: String?
    var hash: String
    var events: UInt64
    var tasks: Int
    var completed: Int
    /// Set by the parent when the seed's process died.
    var crashed: String?
    /// Every checker's verdict and evidence (nil for a crashed seed).
    var checks: [CheckVerdict]? = nil
    /// Client-observed task latency, virtual seconds (nil when no task finished).
    var latency: LatencySummary? = nil
}

/// Client-observed task latency over every task of one run, in virtual seconds.
struct LatencySummary: Codable {
    var count: Int
    var mean: Double
    var p50: Double
    var p90: Double
    var p99: Double
    var max: Double

    init?(_ report: RunReport) {
        guard let mean = report.latencyMean, let p50 = report.latencyP50, let p90 = report.latencyP90, let p99 = report.latencyP99,
            let max = report.latencyMax
        else { return nil }
        count = report.completed + report.aborted
        (self.mean, self.p50, self.p90, self.p99, self.max) = (Double(mean) / 1e9, Double(p50) / 1e9, Double(p90) / 1e9, Double(p99) / 1e9, Double(max) / 1e9)
    }
}

/// A seed sweep. Seeds run in child processes, a batch each, so one crash cannot lose the
/// sweep; the seeds of a crashed batch are re-run one by one to find the culprit. Failing seeds
/// are re-run with full recording and their traces written under `--traces`.
struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Run many seeds of a scenario (or of the swarm), in parallel and isolated, and keep the failing traces.",
        discussion: "Exit status: 0 every seed passed, 1 a seed failed or crashed, 2 bad input."
    )

    @Option(help: "A scenario name, `swarm`, or a scenario file (JSON).")
    var scenario = "swarm"

    @Option(help: "How many seeds.")
    var seeds = 100

    @Option(help: "The first seed.")
    var start: UInt64 = 1

    @Option(help: "Child processes at once.")
    var jobs = max(1, ProcessInfo.processInfo.activeProcessorCount)

    @Option(help: "Run only shard I of K (I/K, from 0): seeds whose offset mod K is I.")
    var shard: String?

    @Option(help: "Seeds per child process.")
    var batch = 20

    @Option(help: "Where failing traces are written.")
    var traces = "traces"

    @Option(help: "Record at most this many failing seeds.")
    var keep = 5

    @Option(help: "Also write a JUnit XML report here.")
    var junit: String?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    /// Makes the child running this seed die, to test the sweep's own isolation.
    @Option(help: .hidden)
    var injectCrashSeed: UInt64?

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard jobs >= 1, batch >= 1, keep >= 0 else { throw ValidationError("--jobs, --batch must be at least 1") }
    }

    func shardFilter() throws -> (Int, Int) {
        guard let shard else { return (0, 1) }
        let parts = shard.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (0..<parts[1]).contains(parts[0]) else {
            throw CLIError("--shard takes I/K with 0 <= I < K, got '\(shard)'")
        }
        return (parts[0], parts[1])
    }

    func run() throws {
        _ = try resolveScenario(scenario, seed: start)  // bad input fails here, before any child runs
        let (index, count) = try shardFilter()
        let chosen = (0..<UInt64(seeds)).filter { Int($0 % UInt64(count)) == index }.map { start + $0 }
        if !json {
            print("exploring \(scenario): \(chosen.count) seeds from \(start), \(jobs) jobs")
            print("rerun one: agentos run --scenario \(scenario) --seed SEED")
        }
        let batches = stride(from: 0, to: chosen.count, by: batch).map { Array(chosen[$0..<min($0 + batch, chosen.count)]) }
        let (results, wall) = measure { runAll(batches, total: chosen.count) }

        let failing = results.filter { !$0.passed }.sorted { $0.seed < $1.seed }
        var recorded: [String] = []
        if !failing.isEmpty { try? FileManager.default.createDirectory(atPath: traces, withIntermediateDirectories: true) }
        for failure in failing.prefix(keep) {
            let name = scenario.hasSuffix(".json") ? URL(fileURLWithPath: scenario).deletingPathExtension().lastPathComponent : scenario
            let path = "\(traces)/\(name)-seed-\(failure.seed).jsonl"
            // A child records it: the seed may be the one that crashes.
            _ = try? runChild(["run", "--scenario", scenario, "--seed", String(failure.seed), "--trace", path, "--json"])
            if FileManager.default.fileExists(atPath: path) { recorded.append(path) }
        }
        let summary = ExploreSummary(
            scenario: scenario, start: start, rangeSeeds: UInt64(seeds), shardIndex: index, shardCount: count, seeds: results.count, passed: results.filter(\.passed).count, failed: failing.filter { $0.crashed == nil }.count,
            crashed: failing.filter { $0.crashed != nil }.count, wallSeconds: wall, seedsPerSecond: Double(results.count) / wall,
            byInvariant: Dictionary(grouping: failing.flatMap(\.invariants), by: { $0 }).mapValues(\.count).sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" },
            failing: failing.map(\.seed), traces: recorded)
        if let junit { try writeJUnit(results, path: junit) }
        if json {
            printJSON(summary)
        } else {
            printSummary(summary, failing: failing)
        }
        if !failing.isEmpty { throw ExitCode(ExitStatus.failed) }
    }

    /// Runs every batch in child processes, `jobs` at a time; re-runs the seeds of a crashed
    /// batch one by one.
    func runAll(_ batches: [[UInt64]], total: Int) -> [SeedResult] {
        let runner = BatchRunner(
            scenario: scenario, crashSeed: injectCrashSeed, bar: ProgressBar(total: total, label: "seeds", enabled: !json && isatty(2) != 0))
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = jobs
        for seeds in batches { queue.addOperation { runner.run(seeds) } }
        queue.waitUntilAllOperationsAreFinished()
        return runner.finish()
    }

    func printSummary(_ summary: ExploreSummary, failing: [SeedResult]) {
        print("")
        print("scenario     seeds   passed  failed  crashed  wall s   seeds/s")
        let name = summary.scenario.padding(toLength: max(12, summary.scenario.count), withPad: " ", startingAt: 0)
        print(
            name
                + String(
                    format: " %-7d %-7d %-7d %-8d %-8.2f %.1f", summary.seeds, summary.passed, summary.failed, summary.crashed,
                    summary.wallSeconds, summary.seedsPerSecond))
        if !summary.byInvariant.isEmpty { print("violations by invariant: \(summary.byInvariant.joined(separator: ", "))") }
        for failure in failing.prefix(10) {
            print("  seed \(failure.seed): \(failure.firstViolation ?? "failed")")
        }
        for trace in summary.traces { print("trace: \(trace)  (replay: agentos replay \(trace) --timeline; shrink: agentos shrink \(trace))") }
    }

    func writeJUnit(_ results: [SeedResult], path: String) throws {
        var report = JUnitReport()
        for result in results {
            let classname = "\(scenario).seed-\(result.seed)"
            let rerun = "agentos run --scenario \(scenario) --seed \(result.seed)"
            guard let checks = result.checks else {
                report.add(failedRun: classname, message: result.firstViolation ?? "failed", rerun: rerun)
                continue
            }
            report.add(run: classname, checks: checks, firstViolation: { result.invariants.first == $0 ? result.firstViolation : nil }, rerun: rerun)
        }
        try report.write(name: "agentos explore \(scenario)", to: path)
    }
}

struct ExploreSummary: Codable {
    let scenario: String
    /// The seeds this run covered: offsets 0..<rangeSeeds from `start` whose offset mod
    /// `shardCount` is `shardIndex` (`explore-merge` checks that shards cover a range once).
    let start: UInt64
    let rangeSeeds: UInt64
    let shardIndex: Int
    let shardCount: Int
    let seeds: Int
    let passed: Int
    let failed: Int
    let crashed: Int
    let wallSeconds: Double
    let seedsPerSecond: Double
    let byInvariant: [String]
    let failing: [UInt64]
    let traces: [String]
}

/// Runs a list of seeds and prints one JSON line per seed: the child side of `explore`.
struct ExploreBatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explore-batch", shouldDisplay: false)

    @Option var scenario: String
    @Option var seeds: String
    @Option var crashSeed: UInt64?

    func run() throws {
        let list = seeds.split(separator: ",").compactMap { UInt64($0) }
        let encoder = JSONEncoder()
        for seed in list {
            if seed == crashSeed { fatalError("injected crash at seed \(seed), to test the sweep's isolation") }
            let resolved = try resolveScenario(scenario, seed: seed)
            let report = try ScenarioRun(scenario: resolved, seed: seed).execute()
            let result = SeedResult(
                seed: seed, passed: report.passed, invariants: Array(Set(report.violations.map(\.invariant.rawValue))).sorted(),
                firstViolation: report.violations.first.map { "\($0.invariant): \($0.detail)" }, hash: report.hash, events: report.events,
                tasks: report.tasks, completed: report.completed, crashed: nil, checks: report.checks, latency: LatencySummary(report))
            FileHandle.standardOutput.write(try encoder.encode(result) + Data("\n".utf8))
        }
    }
}

/// Runs this binary as a child process and collects its output. `status` says how it ended.
func runChild(_ arguments: [String]) throws -> (status: String, stdout: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let status =
        process.terminationReason == .uncaughtSignal
        ? "was killed by signal \(process.terminationStatus)" : "exited with status \(process.terminationStatus)"
    return (status, String(decoding: data, as: UTF8.self))
}

/// Runs batches of seeds in child processes and gathers their results; shared by the worker
/// threads of `explore`, so every mutable field sits behind the lock.
final class BatchRunner: @unchecked Sendable {
    let scenario: String
    let crashSeed: UInt64?
    private let lock = NSLock()
    private var results: [UInt64: SeedResult] = [:]
    private var bar: ProgressBar

    init(scenario: String, crashSeed: UInt64?, bar: ProgressBar) {
        self.scenario = scenario
        self.crashSeed = crashSeed
        self.bar = bar
    }

    func run(_ seeds: [UInt64]) {
        var arguments = ["explore-batch", "--scenario", scenario, "--seeds", seeds.map(String.init).joined(separator: ",")]
        if let crashSeed { arguments += ["--crash-seed", String(crashSeed)] }
        let outcome = try? runChild(arguments)
        var got: [UInt64: SeedResult] = [:]
        for line in (outcome?.stdout ?? "").split(separator: "\n") {
            if let result = try? JSONDecoder().decode(SeedResult.self, from: Data(line.utf8)) { got[result.seed] = result }
        }
        let missing = seeds.filter { got[$0] == nil }
        if !missing.isEmpty, seeds.count > 1 {
            // Someone in this batch killed the process: find out who, one seed at a time.
            for seed in missing { run([seed]) }
        }
        lock.lock()
        defer { lock.unlock() }
        for (seed, result) in got { results[seed] = result }
        if seeds.count == 1, let seed = missing.first {
            let reason = outcome.map { "the process \($0.status)" } ?? "the process could not start"
            results[seed] = SeedResult(
                seed: seed, passed: false, invariants: [], firstViolation: "crashed: \(reason)", hash: "", events: 0, tasks: 0,
                completed: 0, crashed: reason)
        }
        bar.update(results.count, note: "\(results.values.filter { !$0.passed }.count) failing")
    }

    func finish() -> [SeedResult] {
        lock.lock()
        defer { lock.unlock() }
        bar.finish()
        return results.values.sorted { $0.seed < $1.seed }
    }
}
