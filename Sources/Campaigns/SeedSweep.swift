import Foundation

/// A sweep over seeds of one scenario (`agentos explore`). Seeds run in child processes, a
/// batch each, `jobs` at a time, so one crash cannot lose the sweep; the seeds of a crashed
/// batch are re-run one by one to find the culprit. Failing seeds are re-run with full
/// recording and their traces written under `traces`.
public struct SeedSweep: Sendable {
    public var scenario: String
    public var start: UInt64
    /// The range's length: offsets 0..<seeds from `start`.
    public var seeds: Int
    /// This run covers the offsets whose remainder mod `shardCount` is `shardIndex`.
    public var shardIndex = 0
    public var shardCount = 1
    public var jobs = max(1, ProcessInfo.processInfo.activeProcessorCount)
    public var batch = 20
    public var traces = "traces"
    /// Record at most this many failing seeds.
    public var keep = 5
    /// Makes the child running this seed die, to test the sweep's own isolation.
    public var crashSeed: UInt64?
    /// A planted bug every seed runs with (hidden `explore --plant`, for measuring how often
    /// a bug is caught); failing traces are then not recorded, as no trace can name the bug.
    public var plant: String?
    public var progress = isatty(2) != 0

    public init(scenario: String, start: UInt64, seeds: Int) {
        self.scenario = scenario
        self.start = start
        self.seeds = seeds
    }

    /// "I/K" as a shard of K (I from 0).
    public static func parseShard(_ text: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (0..<parts[1]).contains(parts[0]) else {
            throw CampaignError("--shard takes I/K with 0 <= I < K, got '\(text)'")
        }
        return (parts[0], parts[1])
    }

    /// The seeds this shard runs.
    public var chosen: [UInt64] {
        (0..<UInt64(seeds)).filter { Int($0 % UInt64(shardCount)) == shardIndex }.map { start + $0 }
    }

    /// Runs the sweep: every seed's verdict (by seed) and the summary.
    public func run() -> (results: [SeedResult], summary: ExploreSummary) {
        let chosen = self.chosen
        let batches = stride(from: 0, to: chosen.count, by: batch).map { Array(chosen[$0..<min($0 + batch, chosen.count)]) }
        let runner = BatchRunner(scenario: scenario, crashSeed: crashSeed, plant: plant, bar: ProgressBar(total: chosen.count, label: "seeds", enabled: progress))
        let (results, wall) = measure {
            let queue = OperationQueue()
            queue.maxConcurrentOperationCount = jobs
            for seeds in batches { queue.addOperation { runner.run(seeds) } }
            queue.waitUntilAllOperationsAreFinished()
            return runner.finish()
        }
        let failing = results.filter { !$0.passed }
        let recorded = recordTraces(
            scenario: scenario, folder: traces, runs: failing.prefix(plant == nil ? keep : 0).map { (Recipe(seed: $0.seed), "seed-\($0.seed)") })
        let summary = ExploreSummary(
            scenario: scenario, start: start, rangeSeeds: UInt64(seeds), shardIndex: shardIndex, shardCount: shardCount, results: results,
            wall: wall, traces: recorded)
        return (results, summary)
    }

    /// One JUnit test case per seed and checker.
    public func junit(_ results: [SeedResult]) -> JUnitReport {
        var report = JUnitReport()
        for result in results {
            report.add(result, classname: "\(scenario).seed-\(result.seed)", rerun: "agentos run --scenario \(scenario) --seed \(result.seed)")
        }
        return report
    }
}

/// What a sweep (or one shard of it) found, as `explore --json` prints it.
public struct ExploreSummary: Codable, Sendable {
    public let scenario: String
    /// The seeds this run covered: offsets 0..<rangeSeeds from `start` whose offset mod
    /// `shardCount` is `shardIndex` (`explore-merge` checks that shards cover a range once).
    public let start: UInt64
    public let rangeSeeds: UInt64
    public let shardIndex: Int
    public let shardCount: Int
    public let seeds: Int
    public let passed: Int
    public let failed: Int
    public let crashed: Int
    public let wallSeconds: Double
    public let seedsPerSecond: Double
    public let byInvariant: [String]
    public let failing: [UInt64]
    public let traces: [String]
    /// Which marks the runs reached (nil in a summary written before marks were counted).
    public var marks: MarkCoverage? = nil
    /// Set for a guided search (`explore --guided`).
    public var guided: GuidedReport? = nil
}

extension ExploreSummary {
    /// The summary of these runs' verdicts.
    init(
        scenario: String, start: UInt64, rangeSeeds: UInt64, shardIndex: Int = 0, shardCount: Int = 1, results: [SeedResult], wall: Double,
        traces: [String], guided: GuidedReport? = nil
    ) {
        let failing = results.filter { !$0.passed }
        self.init(
            scenario: scenario, start: start, rangeSeeds: rangeSeeds, shardIndex: shardIndex, shardCount: shardCount, seeds: results.count,
            passed: results.count - failing.count, failed: failing.filter { $0.crashed == nil }.count, crashed: failing.filter { $0.crashed != nil }.count,
            wallSeconds: wall, seedsPerSecond: Double(results.count) / wall,
            byInvariant: Dictionary(grouping: failing.flatMap(\.invariants), by: { $0 }).mapValues(\.count).sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" },
            failing: failing.map(\.seed), traces: traces, marks: MarkCoverage(results), guided: guided)
    }
}

/// Re-runs failing runs with full recording into `folder`, a child each (the run may be the one
/// that crashes), as `SCENARIO-FILE.jsonl`; the paths of the traces written.
func recordTraces(scenario: String, folder: String, runs: [(recipe: Recipe, file: String)]) -> [String] {
    guard !runs.isEmpty else { return [] }
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let name = scenario.hasSuffix(".json") ? URL(fileURLWithPath: scenario).deletingPathExtension().lastPathComponent : scenario
    var recorded: [String] = []
    for (recipe, file) in runs {
        let path = "\(folder)/\(name)-\(file).jsonl"
        _ = try? runChild(["run", "--scenario", scenario, "--seed", String(recipe.seed), "--trace", path, "--json"] + recipe.branchArguments)
        if FileManager.default.fileExists(atPath: path) { recorded.append(path) }
    }
    return recorded
}
