import ArgumentParser
import Campaigns
import Checks
import Foundation
import Scenarios

/// A seed sweep (the work is `SeedSweep`'s): flags in, a summary out.
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

    @Option(
        help:
            "Fail unless every one of these marks was reached by some run: `scenario` (the marks the named scenario is built to reach), `all`, or a file of mark names, one per line (`agentos marks` lists them)."
    )
    var requireMarks: String?

    @Flag(
        help:
            "Guided search: --seeds runs at most, each after the first few branched from a run that reached something new (a rarely hit mark), from --start (which seeds the search itself).")
    var guided = false

    @Flag(
        help:
            "With --guided: a run is also new when it reaches a new entry (or hit-count bucket) of the state signature: roles, message kinds handled in a row, active faults.")
    var stateSignature = false

    /// Plants a bug of `bench find` in every seed (plain sweeps), to measure how often it is caught.
    @Option(help: .hidden)
    var plant: String?

    /// Makes the child running this seed die, to test the sweep's own isolation.
    @Option(help: .hidden)
    var injectCrashSeed: UInt64?

    func validate() throws {
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard jobs >= 1, batch >= 1, keep >= 0 else { throw ValidationError("--jobs, --batch must be at least 1") }
    }

    func run() throws {
        let resolved = try resolveScenario(scenario, seed: start)  // bad input fails here, before any child runs
        let required = try requireMarks.map { try MarkCoverage.required($0, scenario: scenario) } ?? []
        if let plant { _ = try plantedBug(plant) }
        if guided {
            guard plant == nil else { throw CLIError("--plant is for plain sweeps (`bench find` measures guided searches)") }
            guard shard == nil else { throw CLIError("--guided is one search and takes no --shard: give each machine its own --start instead") }
            guard injectCrashSeed == nil else { throw CLIError("--inject-crash-seed is for plain sweeps") }
            var search = GuidedSearch(scenario: scenario, start: start, budget: seeds, window: resolved.phases.safety)
            (search.jobs, search.traces, search.keep, search.stateSignature) = (jobs, traces, keep, stateSignature)
            search.progress = !json && isatty(2) != 0
            if !json {
                print("guided search of \(scenario): at most \(seeds) runs, explorer seed \(start), \(jobs) jobs")
                print("rerun one: the `agentos run ... --branch AT:SEED` line printed for it")
            }
            let outcome = search.run()
            if let junit { try search.junit(outcome).write(name: "agentos explore --guided \(scenario)", to: junit) }
            if json {
                printJSON(outcome.summary)
            } else {
                printSummary(outcome.summary, failing: [])
                for (result, recipe) in zip(outcome.results, outcome.recipes) where !result.passed {
                    print("  \(recipe.rerun(scenario: scenario)): \(result.firstViolation ?? "failed")")
                }
            }
            try finish(outcome.summary, required: required)
            return
        }
        guard !stateSignature else { throw CLIError("--state-signature is for --guided searches") }
        var sweep = SeedSweep(scenario: scenario, start: start, seeds: seeds)
        if let shard { (sweep.shardIndex, sweep.shardCount) = try SeedSweep.parseShard(shard) }
        (sweep.jobs, sweep.batch, sweep.traces, sweep.keep, sweep.crashSeed) = (jobs, batch, traces, keep, injectCrashSeed)
        sweep.plant = plant
        sweep.progress = !json && isatty(2) != 0
        if !json {
            print("exploring \(scenario): \(sweep.chosen.count) seeds from \(start), \(jobs) jobs")
            print("rerun one: agentos run --scenario \(scenario) --seed SEED")
        }
        let (results, summary) = sweep.run()
        if let junit { try sweep.junit(results).write(name: "agentos explore \(scenario)", to: junit) }
        if json {
            printJSON(summary)
        } else {
            printSummary(summary, failing: results.filter { !$0.passed })
        }
        try finish(summary, required: required)
    }

    /// Exit status 1 for a failing run, or for a required mark no run reached.
    func finish(_ summary: ExploreSummary, required: [Mark]) throws {
        if !summary.failing.isEmpty { throw ExitCode(ExitStatus.failed) }
        let missing = summary.marks?.missing(required) ?? required
        if !missing.isEmpty {
            FileHandle.standardError.write(
                Data("explore: required mark(s) never reached in \(summary.seeds) run(s): \(missing.map(\.name).joined(separator: ", "))\n".utf8))
            throw ExitCode(ExitStatus.failed)
        }
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
        if let guided = summary.guided {
            print(
                "guided: \(guided.corpus) run(s) in the corpus, \(guided.features) feature(s), \(guided.branched) branched run(s)"
                    + (guided.stoppedEarly ? "; stopped early (nothing new for a while)" : ""))
        }
        if let marks = summary.marks { for line in marks.lines() { print(line) } }
    }
}

/// Runs a list of seeds and prints one JSON line per seed: the child side of `explore`.
struct ExploreBatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explore-batch", shouldDisplay: false)

    @Option var scenario: String = ""
    @Option var seeds: String = ""
    @Option var recipes: String?
    /// Runs of several scenarios, `SCENARIO@SEED,...` in order (`mutate`'s budget).
    @Option var runs: String?
    /// Stops after the first failing run (`mutate`: a mutant is killed by its first failure).
    @Flag var stopAtFailure = false
    @Flag var signature = false
    @Option var crashSeed: UInt64?
    /// A planted bug (`bench find`, or a rerun of one of its findings).
    @Option var plant: String?
    /// Report each run's CPU time.
    @Flag var cpu = false

    func run() throws {
        let overrides = try plantedOverrides(plant)
        if let runs {
            for run in try ScenarioSeed.parseList(runs) {
                let passed = try SeedBatch.runOne(scenario: run.scenario, seed: run.seed, overrides: overrides, measuresCPU: cpu, resolve: resolveScenario)
                if !passed, stopAtFailure { return }
            }
            return
        }
        guard !scenario.isEmpty else { throw CLIError("explore-batch needs --scenario or --runs") }
        if let recipes {
            let parsed = try recipes.split(separator: ",").map { text in
                guard let recipe = Recipe(text: String(text)) else { throw CLIError("not a recipe: \(text)") }
                return recipe
            }
            try SeedBatch.run(scenario: scenario, recipes: parsed, signature: signature, overrides: overrides, measuresCPU: cpu, resolve: resolveScenario)
            return
        }
        try SeedBatch.run(
            scenario: scenario, seeds: seeds.split(separator: ",").compactMap { UInt64($0) }, crashSeed: crashSeed, overrides: overrides,
            measuresCPU: cpu, resolve: resolveScenario)
    }
}
