import Foundation
import Scenarios

/// `agentos reproduce`: every experiment the reference system published, simulated over many
/// seeds and set side by side with the reference's numbers. Each experiment is a file in
/// `folder`; each row runs all its seeds in one child process.
public struct ReproduceRun: Sendable {
    /// A row's simulated ratio counts as reproduced within this relative error.
    public static let tolerance = 0.15
    /// The order the reference's report presents its experiments in; others follow by name.
    public static let order = ["scaling", "scheduling", "voting", "fault-tolerance", "no-checkpoints"]

    public var folder: String
    /// Only these experiments (all when empty).
    public var tables: [String]
    public var seeds: Int
    public var start: UInt64
    public var jobs = ProcessInfo.processInfo.activeProcessorCount
    /// Where every row's complete scenario is also written (EXPERIMENT-ROW.json), if anywhere.
    public var scenariosOut: String?

    public init(folder: String, tables: [String], seeds: Int, start: UInt64) {
        (self.folder, self.tables, self.seeds, self.start) = (folder, tables, seeds, start)
    }

    /// The chosen experiments, in the reference report's order.
    public func loadExperiments() throws -> [Experiment] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CampaignError("no experiment folder '\(folder)' (run from the repository's root, or give --experiments DIR)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
        var loaded: [Experiment] = []
        for file in files {
            do {
                loaded.append(try Experiment.load(path: (folder as NSString).appendingPathComponent(file)))
            } catch let error as ScenarioError {
                throw CampaignError(error.description)
            }
        }
        let unknown = tables.filter { name in !loaded.contains { $0.experiment == name } }
        if !unknown.isEmpty {
            throw CampaignError("unknown experiment(s) \(unknown.joined(separator: ", ")) (known: \(loaded.map(\.experiment).sorted().joined(separator: ", ")))")
        }
        func rank(_ name: String) -> Int { Self.order.firstIndex(of: name) ?? Self.order.count }
        return loaded.filter { tables.isEmpty || tables.contains($0.experiment) }.sorted {
            ($0.predictions ? 1 : 0, rank($0.experiment), $0.experiment) < ($1.predictions ? 1 : 0, rank($1.experiment), $1.experiment)
        }
    }

    /// Runs every row over the seeds in child processes and compares with the reference.
    public func run() throws -> ReproduceReport {
        let chosen = try loadExperiments()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-reproduce-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        // One job per row: its scenario in a file, all its seeds in one child process.
        var jobs: [(experiment: Int, row: Int, file: String)] = []
        for (e, experiment) in chosen.enumerated() {
            for (r, row) in experiment.rows.enumerated() {
                let file = (scratch as NSString).appendingPathComponent("\(e)-\(r).json")
                let data = try JSONEncoder().encode(row.scenario)
                try data.write(to: URL(fileURLWithPath: file))
                jobs.append((e, r, file))
                if let scenariosOut {
                    try FileManager.default.createDirectory(atPath: scenariosOut, withIntermediateDirectories: true)
                    let name = "\(experiment.experiment)-\(row.row)".map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
                    try data.write(to: URL(fileURLWithPath: (scenariosOut as NSString).appendingPathComponent(String(name) + ".json")))
                }
            }
        }
        let seedList = (start..<(start + UInt64(seeds))).map(String.init).joined(separator: ",")
        let results = RowResults(count: jobs.count, label: "reproduce: \(jobs.count) rows x \(seeds) seeds")
        let width = jobs.count
        let planned = jobs
        let workers = min(self.jobs, width)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                guard let index = results.take(below: width) else { return }
                let job = planned[index]
                let outcome = try? runChild(["explore-batch", "--scenario", job.file, "--seeds", seedList])
                let lines = seedResults(in: outcome?.stdout ?? "")
                results.store(index, lines, failure: lines.count == seeds ? nil : (outcome.map { "the process \($0.status)" } ?? "could not start"))
            }
        }
        let gathered = results.finish()

        var rows: [ReproducedRow] = []
        var failures: [String] = []
        for (index, job) in jobs.enumerated() {
            let experiment = chosen[job.experiment], row = experiment.rows[job.row]
            let (seedResults, failure) = gathered[index] ?? ([], "not run")
            if let failure { failures.append("\(experiment.experiment)/\(row.row): \(failure)") }
            for result in seedResults where !result.passed {
                failures.append("\(experiment.experiment)/\(row.row) seed \(result.seed): \(result.firstViolation ?? "failed")")
            }
            rows.append(
                ReproducedRow(
                    experiment: experiment.experiment, row: row.row, referenceMean: row.referenceMean,
                    seeds: Dictionary(seedResults.compactMap { result in result.latency.map { (result.seed, $0) } }, uniquingKeysWith: { first, _ in first })))
        }
        var report = ReproduceReport(experiments: chosen, rows: rows, seeds: seeds, failures: failures)
        report.start = start
        return report
    }
}

/// The child processes' results, gathered from many threads.
public final class RowResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: ([SeedResult], String?)] = [:]
    private var bar: ProgressBar
    private var taken = 0

    public init(count: Int, label: String) {
        bar = ProgressBar(total: count, label: label)
    }

    /// The next job index for a worker, until `count`.
    public func take(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard taken < count else { return nil }
        taken += 1
        return taken - 1
    }

    public func store(_ index: Int, _ seeds: [SeedResult], failure: String?) {
        lock.lock()
        defer { lock.unlock() }
        results[index] = (seeds, failure)
        bar.update(results.count)
    }

    public func finish() -> [Int: ([SeedResult], String?)] {
        lock.lock()
        defer { lock.unlock() }
        bar.finish()
        return results
    }
}

