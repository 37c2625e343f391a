import ArgumentParser
import Foundation
import Scenarios

/// `agentos reproduce`: every experiment the reference system published, simulated over many
/// seeds and set side by side with the reference's numbers.
struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "Simulate the reference system's published experiments and compare with its tables.",
        discussion: """
            Each experiment is a file in --experiments (default: reproduce/ in the current directory): a named \
            scenario to start from, the changes every row makes, and per row its own changes and the reference's \
            published mean latency. Every row runs over --seeds seeds in parallel child processes. For each \
            experiment the table shows the reference's mean, the simulated mean +- its standard deviation over \
            seeds, each side's ratio to the experiment's baseline row, and how far the simulated ratio is from the \
            reference's. The reference's caveats are printed under each table. Exit status: 0 when every run passed \
            its checkers (misses against the reference are reported, not failures), 1 when a run broke an \
            invariant, 2 for bad input.
            """
    )

    @Option(help: "Seeds per row.") var seeds = 5
    @Option(help: "The first seed of each row's range (another range is another sample of the same model).") var start: UInt64 = 1
    @Option(help: "Only this experiment (by name; repeatable).") var table: [String] = []
    @Option(help: "The folder of experiment files.") var experiments = "reproduce"
    @Option(help: "Child processes at once (default: the machine's cores).") var jobs: Int?
    @Flag(help: "Print the rows as JSON.") var json = false
    @Option(help: "Write one SVG bar chart per experiment into this folder.") var plot: String?
    @Option(help: "Also write every row's complete scenario into this folder (EXPERIMENT-ROW.json), to run one alone with `agentos run --scenario FILE`.")
    var scenariosOut: String?
    /// A row's simulated ratio counts as reproduced within this relative error.
    static let tolerance = 0.15
    /// The order the reference's report presents its experiments in; others follow by name.
    static let order = ["scaling", "scheduling", "voting", "fault-tolerance", "no-checkpoints"]

    func validate() throws {
        guard (1...1000).contains(seeds) else { throw ValidationError("--seeds must be 1...1000") }
        guard start >= 1, start <= UInt64.max - 1000 else { throw ValidationError("--start must be at least 1") }
        if let jobs, !(1...256).contains(jobs) { throw ValidationError("--jobs must be 1...256") }
    }

    func loadExperiments() throws -> [Experiment] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: experiments, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("no experiment folder '\(experiments)' (run from the repository's root, or give --experiments DIR)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: experiments).filter { $0.hasSuffix(".json") }
        var loaded: [Experiment] = []
        for file in files {
            do {
                loaded.append(try Experiment.load(path: (experiments as NSString).appendingPathComponent(file)))
            } catch let error as ScenarioError {
                throw CLIError(error.description)
            }
        }
        let unknown = table.filter { name in !loaded.contains { $0.experiment == name } }
        if !unknown.isEmpty {
            throw CLIError("unknown experiment(s) \(unknown.joined(separator: ", ")) (known: \(loaded.map(\.experiment).sorted().joined(separator: ", ")))")
        }
        func rank(_ name: String) -> Int { Self.order.firstIndex(of: name) ?? Self.order.count }
        return loaded.filter { table.isEmpty || table.contains($0.experiment) }.sorted {
            ($0.predictions ? 1 : 0, rank($0.experiment), $0.experiment) < ($1.predictions ? 1 : 0, rank($1.experiment), $1.experiment)
        }
    }

    func run() throws {
        let chosen = try loadExperiments()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-reproduce-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        // One job per row: its scenario in a file, all its seeds in one child process.
        var jobs: [(experiment: Int, row: Int, file: String)] = []
        for (e, experiment) in chosen.enumerated() {
            for (r, row) in experiment.rows.enumerated() {
                let file = (folder as NSString).appendingPathComponent("\(e)-\(r).json")
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
        let workers = min(self.jobs ?? ProcessInfo.processInfo.activeProcessorCount, width)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                guard let index = results.take(below: width) else { return }
                let job = planned[index]
                let outcome = try? runChild(["explore-batch", "--scenario", job.file, "--seeds", seedList])
                let lines = (outcome?.stdout ?? "").split(separator: "\n").compactMap { try? JSONDecoder().decode(SeedResult.self, from: Data($0.utf8)) }
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
        if json { printJSON(report) } else { report.print() }
        if let plot { try ReproducePlot.write(report, to: plot) }
        if !failures.isEmpty { throw ExitCode(ExitStatus.failed) }
    }
}

/// The child processes' results, gathered from many threads.
final class RowResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: ([SeedResult], String?)] = [:]
    private var bar: ProgressBar
    private var taken = 0

    init(count: Int, label: String) {
        bar = ProgressBar(total: count, label: label)
    }

    /// The next job index for a worker, until `count`.
    func take(below count: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard taken < count else { return nil }
        taken += 1
        return taken - 1
    }

    func store(_ index: Int, _ seeds: [SeedResult], failure: String?) {
        lock.lock()
        defer { lock.unlock() }
        results[index] = (seeds, failure)
        bar.update(results.count)
    }

    func finish() -> [Int: ([SeedResult], String?)] {
        lock.lock()
        defer { lock.unlock() }
        bar.finish()
        return results
    }
}

