import ArgumentParser
import Campaigns
import Core
import Foundation
import PlantedBugs
import Scenarios

/// `agentos bench find`: bugs found per CPU-second. Plants each bug of the suite in turn and
/// measures how long each search strategy takes to its first failing run.
struct BenchFind: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "find",
        abstract: "Bugs found per CPU-second: runs and CPU-seconds to the first failure of each planted bug, per search strategy.",
        discussion: """
            Each planted bug (`--list`) is put in the core's roles in turn; each strategy searches \
            from explorer seeds 1...N (plain seeds of the named scenarios in turn, plain swarm \
            seeds, a guided search of the swarm) until its first failing run or --budget runs. \
            Exit status: 0 done (and no regression with --check), 1 a regression, 2 bad input.
            """
    )

    @Flag(help: "List the planted bugs and exit.")
    var list = false

    @Option(help: "The bugs to plant, comma-separated (default: all).")
    var bugs: String?

    @Option(help: "The strategies, comma-separated: scenarios, swarm, guided, guided-swarm (default: all).")
    var strategies: String?

    @Option(help: "The named scenarios the scenarios and guided strategies take in turn, comma-separated (default: every named scenario).")
    var scenarios: String?

    @Option(help: "Explorer seeds per bug and strategy.")
    var explorers = 5

    @Option(help: "Runs a search may spend before it counts as not finding the bug.")
    var budget = 300

    @Option(help: "Child processes at once.")
    var jobs = max(1, ProcessInfo.processInfo.activeProcessorCount)

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Write this run's figures as the accepted thresholds to this file.")
    var record: String?

    @Option(help: "Fail (exit 1) on a regression against the thresholds in this file (Benchmarks/Thresholds/bench-find.json).")
    var check: String?

    func validate() throws {
        guard explorers >= 1, budget >= 1, jobs >= 1 else { throw ValidationError("--explorers, --budget and --jobs must be at least 1") }
    }

    func run() throws {
        if list {
            for bug in CoreBug.allCases {
                print(
                    "\(bug.name.padding(toLength: 31, withPad: " ", startingAt: 0)) \(bug.role.padding(toLength: 8, withPad: " ", startingAt: 0)) \(bug.summary)"
                )
            }
            return
        }
        let chosen = try bugs.map { try $0.split(separator: ",").map { try plantedBug(String($0)).name } } ?? CoreBug.allCases.map(\.name)
        let picked =
            try strategies.map { list in
                try list.split(separator: ",").map { name in
                    guard let strategy = FindStrategy(rawValue: String(name)) else {
                        throw CLIError("no strategy named '\(name)'; the strategies: \(FindStrategy.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    return strategy
                }
            } ?? FindStrategy.allCases
        let stored = try check.map { try loadJSON(FindThresholds.self, path: $0, what: "thresholds file") }
        if let stored, stored.budget != budget || stored.explorers != explorers {
            throw CLIError("the thresholds in \(check!) are for --budget \(stored.budget) --explorers \(stored.explorers); run with those")
        }
        var bench = FindBench(bugs: chosen)
        if let scenarios {
            bench.scenarios = try namedScenarios(scenarios)
        }
        (bench.strategies, bench.explorers, bench.budget, bench.jobs) = (picked, explorers, budget, jobs)
        bench.progress = !json && isatty(2) != 0
        bench.notesPerBug = !json && isatty(2) == 0
        if !json {
            print(
                "bench find: \(chosen.count) bug(s) x \(picked.map(\.rawValue).joined(separator: ", ")) x \(explorers) explorer seed(s), at most \(budget) runs each, \(jobs) jobs"
            )
        }
        let report = bench.run()
        if json { printJSON(report) } else { report.lines().forEach { print($0) } }
        if let record {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try (encoder.encode(FindThresholds(report)) + Data("\n".utf8)).write(to: URL(fileURLWithPath: record))
            if !json { print("thresholds written to \(record)") }
        }
        if let stored {
            let regressions = stored.regressions(report)
            for line in regressions { FileHandle.standardError.write(Data("bench find: regression: \(line)\n".utf8)) }
            if !regressions.isEmpty { throw ExitCode(ExitStatus.failed) }
            if !json { print("no regression against \(check!)") }
        }
    }
}

/// A planted bug by name, or a clear error listing them.
func plantedBug(_ name: String) throws -> CoreBug {
    do { return try CoreBug.named(name) } catch let error as PlantedBugError { throw CLIError(error.description) }
}

/// The planted bug `name` as the real shell's role factory (`serve --plant`, `cluster-test --plant`).
func shellPlantedFactory(_ name: String) throws -> RoleFactory {
    guard let factory = try plantedBug(name).shellFactory else {
        throw CLIError("--plant \(name) is a setting of the simulated disk; a real process cannot run it")
    }
    return factory
}
