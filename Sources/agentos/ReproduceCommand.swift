import ArgumentParser
import Campaigns
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
    func validate() throws {
        guard (1...1000).contains(seeds) else { throw ValidationError("--seeds must be 1...1000") }
        guard start >= 1, start <= UInt64.max - 1000 else { throw ValidationError("--start must be at least 1") }
        if let jobs, !(1...256).contains(jobs) { throw ValidationError("--jobs must be 1...256") }
    }

    func run() throws {
        var run = ReproduceRun(folder: experiments, tables: table, seeds: seeds, start: start)
        run.jobs = jobs ?? run.jobs
        run.scenariosOut = scenariosOut
        let report = try run.run()
        if json { printJSON(report) } else { report.print() }
        if let plot { try ReproducePlot.write(report, to: plot) }
        if !report.failures.isEmpty { throw ExitCode(ExitStatus.failed) }
    }
}
