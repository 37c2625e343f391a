import ArgumentParser
import Campaigns
import Foundation
import Mutation
import Scenarios

/// `agentos mutate`: the framework's own mutation score. Plants every mutant of a target in
/// one schemata build and runs the budget against each, in child processes.
struct MutateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mutate",
        abstract: "Mutation testing of the checkers: plant small bugs in a target (default Core), see which the checkers catch.",
        discussion: """
            Every mutant of the target is written into one build (mutant schemata, with \
            swift-syntax), each behind the switch AGENTOS_MUTANT=<id>; each mutant then faces the \
            budget (seeds of every named scenario, then swarm seeds) until a run fails. A survivor \
            fails the command unless the allowlist explains it. Exit status: 0 every mutant killed \
            or explained, 1 a survivor (or a score below --min-score), 2 bad input.
            """,
        subcommands: [MutateRun.self, MutateList.self, MutateMerge.self],
        defaultSubcommand: MutateRun.self
    )
}

struct MutantSelection: ParsableArguments {
    @Option(help: "The target whose sources are mutated (a folder under Sources/ whose Package.swift entry has `path: sources(...)`).")
    var target = "Core"

    @Option(help: "Mutation operators, comma-separated (default: all; `agentos mutate list --operators-only` names them).")
    var operators: String?

    @Option(help: "The name of a handler's effects parameter: `NAME.append(...)` is an effect, a call taking `&NAME` a handler step.")
    var effectsName = "effects"

    func generator() throws -> SchemataGenerator {
        SchemataGenerator(operators: Set(try MutationOperator.parseList(operators)), effectsName: effectsName)
    }
}

struct MutateRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Build the schemata and run every mutant (the default).")

    @OptionGroup var selection: MutantSelection

    @Option(help: "Seeds of each named scenario per mutant.")
    var seeds = 2

    @Option(help: "Swarm seeds per mutant, after the named scenarios.")
    var swarm = 20

    @Option(help: "The named scenarios, comma-separated (default: every one but the swarm).")
    var scenarios: String?

    @Option(help: "Only these mutant ids, comma-separated.")
    var mutants: String?

    @Option(help: "Only N mutants, spread evenly over the target (a CI sample).")
    var sample: Int?

    @Option(help: "Run only shard I of K (I/K, from 0, as explore): mutants whose position mod K is I. Join shards with `mutate merge`.")
    var shard: String?

    @Option(help: "Child processes at once.")
    var jobs = max(1, ProcessInfo.processInfo.activeProcessorCount)

    @Option(help: "Seconds a run may go without a verdict before its mutant counts as hanging (killed).")
    var timeout = 60.0

    @Option(help: "Build configuration of the schemata binary: release or debug.")
    var configuration = "release"

    @OptionGroup var verdict: MutationVerdictOptions

    @Option(help: "Write this run's survivors to this file as the known-survivors list.")
    var recordSurvivors: String?

    func validate() throws {
        guard seeds >= 0, swarm >= 0, seeds + swarm >= 1 else { throw ValidationError("--seeds and --swarm must leave at least one run") }
        guard jobs >= 1, timeout > 0 else { throw ValidationError("--jobs must be at least 1 and --timeout positive") }
        guard ["release", "debug"].contains(configuration) else { throw ValidationError("--configuration is release or debug") }
        if let sample { guard sample >= 1 else { throw ValidationError("--sample must be at least 1") } }
        if let shard { _ = try SeedSweep.parseShard(shard) }
    }

    func run() throws {
        let start = ContinuousClock.now
        let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        var budget = MutationBudget(seedsPerScenario: seeds, swarmSeeds: swarm)
        if let scenarios { budget.scenarios = try namedScenarios(scenarios) }

        let build = SchemataBuild(
            packageRoot: root, target: selection.target, generator: try selection.generator(), configuration: configuration, log: log)
        let original = try copyOfThisBinary(into: build.workDirectory)
        defer { try? FileManager.default.removeItem(at: original) }
        let manifest = try build.prepare()
        let chosen = try choose(from: manifest.mutants)

        // Without a switch the schemata binary must be the original, run for run.
        let firstRuns = budget.scenarios.map { ScenarioSeed(scenario: $0, seed: 1) } + (budget.swarmSeeds > 0 ? [ScenarioSeed(scenario: "swarm", seed: 1)] : [])
        let (faithful, compared) = try compareUnswitched(original: original.path, schemata: build.binary.path, runs: firstRuns)
        log("mutate: \(faithful) of \(compared) runs hash-identical with the switch off; running \(chosen.count) mutants, \(budget.runs.count) runs each at most")

        let campaign = MutationCampaign(schemataBinary: build.binary.path, budget: budget, jobs: jobs, runTimeout: timeout)
        let reached = try campaign.reachedSwitches(in: build.workDirectory)
        log("mutate: the budget's runs reach \(reached.count) of \(manifest.mutants.count) mutants' code; the rest are reported as never reached")
        let results = campaign.run(chosen, reached: reached)
        let elapsed = ContinuousClock.now - start
        var report = MutationReport(
            target: selection.target, sourceDigest: manifest.sourceDigest, operators: try MutationOperator.parseList(selection.operators), budget: budget,
            shard: shard ?? (chosen.count < manifest.mutants.count ? "sample" : nil), uncompilable: manifest.uncompilable,
            faithfulRuns: faithful, comparedRuns: compared, results: results,
            wallSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        try verdict.judge(&report)
        if let recordSurvivors {
            try KnownSurvivors.write(report, to: recordSurvivors)
            log("mutate: wrote \(report.survivors.count) survivors to \(recordSurvivors)")
        }
        try verdict.finish(report)
    }

    private func choose(from all: [Mutant]) throws -> [Mutant] {
        var chosen = all
        if let mutants {
            let ids = try mutants.split(separator: ",").map { text in
                guard let id = Int(text), all.contains(where: { $0.id == id }) else { throw CLIError("no mutant \(text) (ids run 1...\(all.count))") }
                return id
            }
            chosen = all.filter { ids.contains($0.id) }
        }
        if let sample, sample < chosen.count {
            let step = Double(chosen.count) / Double(sample)
            chosen = (0..<sample).map { chosen[Int(Double($0) * step)] }
        }
        if let shard {
            let spec = try SeedSweep.parseShard(shard)
            chosen = chosen.enumerated().filter { $0.offset % spec.count == spec.index }.map(\.element)
        }
        return chosen
    }

    private func compareUnswitched(original: String, schemata: String, runs: [ScenarioSeed]) throws -> (Int, Int) {
        let env = [SchemataGenerator.environmentVariable: ""]
        let before = runBatchChild(executable: original, runs: runs, stopAtFailure: false, environment: env, timeout: timeout)
        let after = runBatchChild(executable: schemata, runs: runs, stopAtFailure: false, environment: env, timeout: timeout)
        guard before.results.count == runs.count, before.results.allSatisfy(\.passed) else {
            let failing = before.results.first { !$0.passed }
            throw CLIError(
                "the budget fails on the unmutated code (\(failing.map { "\($0.scenario ?? "?")@\($0.seed): \($0.firstViolation ?? "")" } ?? before.death ?? "missing verdicts")): fix that before measuring mutants")
        }
        let same = zip(before.results, after.results).filter { $0.hash == $1.hash }.count
        guard same == runs.count else {
            throw CLIError("the schemata build is not faithful: with AGENTOS_MUTANT unset, \(runs.count - same) of \(runs.count) runs changed their trace hash")
        }
        return (same, runs.count)
    }

    /// This binary, copied before the schemata build replaces it on disk: the original the
    /// unswitched schemata are compared with.
    private func copyOfThisBinary(into directory: URL) throws -> URL {
        let manager = FileManager.default
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        let copy = directory.appendingPathComponent("agentos-original-\(ProcessInfo.processInfo.processIdentifier)")
        if manager.fileExists(atPath: copy.path) { try manager.removeItem(at: copy) }
        try manager.copyItem(at: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(), to: copy)
        return copy
    }
}

struct MutateList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the target's mutants (nothing is built or run).")

    @OptionGroup var selection: MutantSelection

    @Flag(help: "Print each mutant's diff.")
    var diff = false

    @Flag(help: "Print the operators and exit.")
    var operatorsOnly = false

    @Flag(help: "Print the mutants as JSON.")
    var json = false

    func run() throws {
        if operatorsOnly {
            for op in MutationOperator.allCases { print("\(op.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)) \(op.summary)") }
            return
        }
        let sources = URL(fileURLWithPath: "Sources/\(selection.target)")
        guard FileManager.default.fileExists(atPath: sources.path) else { throw CLIError("no target sources at \(sources.path)") }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-mutate-list-\(getpid())")
        defer { try? FileManager.default.removeItem(at: output) }
        let manifest = try selection.generator().generate(target: selection.target, sources: sources, output: output)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(manifest), as: UTF8.self))
            return
        }
        for mutant in manifest.mutants {
            print("#\(mutant.id) \(mutant.file):\(mutant.line) \(mutant.mutationOperator.rawValue) in \(mutant.function)  [\(mutant.key)]")
            if diff { for line in mutant.diff.split(separator: "\n") { print("    \(line)") } }
        }
        var counts: [MutationOperator: Int] = [:]
        for mutant in manifest.mutants { counts[mutant.mutationOperator, default: 0] += 1 }
        print("\(manifest.mutants.count) mutants: " + counts.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", "))
    }
}

struct MutateMerge: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "merge", abstract: "Join the JSON reports of `mutate --shard I/K` runs into one verdict.")

    @Argument(help: "The shards' JSON reports.")
    var reports: [String]

    @OptionGroup var verdict: MutationVerdictOptions

    func run() throws {
        guard !reports.isEmpty else { throw CLIError("mutate merge needs the shards' JSON reports") }
        var merged = try MutationReport.merge(reports.map { try loadJSON(MutationReport.self, path: $0, what: "mutate report") })
        try verdict.judge(&merged)
        try verdict.finish(merged)
    }
}

/// How a run's or a merge's report is judged and written: the allowlist, the known survivors,
/// the score floor, and the files.
struct MutationVerdictOptions: ParsableArguments {
    @Option(help: "Survivors judged equivalent, `KEY reason` per line (default: Benchmarks/Mutation/<target>.allowlist).")
    var allowlist: String?

    @Option(help: "Survivors recorded as known gaps, one key per line: only a survivor not listed fails the run.")
    var knownSurvivors: String?

    @Option(help: "Fail (exit 1) when the score is below this percentage.")
    var minScore = 0.0

    @Option(help: "Write the report as JSON to this file.")
    var json: String?

    @Option(help: "Write one JUnit test case per mutant to this file.")
    var junit: String?

    @Option(help: "Write the report as a self-contained HTML page to this file.")
    var html: String?

    /// Applies the allowlist and the known survivors.
    func judge(_ report: inout MutationReport) throws {
        report.apply(try MutationAllowlist.load(allowlist ?? "Benchmarks/Mutation/\(report.target).allowlist"))
        if let knownSurvivors { report.apply(knownSurvivors: try KnownSurvivors.load(knownSurvivors)) }
    }

    /// Prints the report, writes the files asked for, and fails on a new survivor or a low score.
    func finish(_ report: MutationReport) throws {
        for line in report.lines() { print(line) }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
        if let junit { try report.writeJUnit(to: junit) }
        if let html { try MutationHTML(report: report).render().write(toFile: html, atomically: true, encoding: .utf8) }
        if !report.newSurvivors.isEmpty || report.score < minScore { throw ExitCode(ExitStatus.failed) }
    }
}

/// Named scenarios from a comma-separated list, the swarm aside (`mutate`, `bench find`).
func namedScenarios(_ text: String) throws -> [String] {
    try text.split(separator: ",").map { name in
        guard ScenarioLibrary.names.contains(String(name)), name != "swarm" else {
            throw CLIError("--scenarios takes named scenarios (`agentos scenarios list`, the swarm aside); got '\(name)'")
        }
        return String(name)
    }
}
