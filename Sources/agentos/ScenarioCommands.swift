import ArgumentParser
import Campaigns
import Checks
import Core
import FakeLLM
import Foundation
import PlantedBugs
import Scenarios
import Server
import Sim

/// A named scenario, or a scenario file (JSON).
func resolveScenario(_ nameOrFile: String, seed: UInt64) throws -> Scenario {
    if nameOrFile.hasSuffix(".json") || nameOrFile.contains("/") {
        let scenario = try loadJSON(Scenario.self, path: nameOrFile, what: "scenario file")
        if let problem = scenario.problem() { throw CLIError("scenario file '\(nameOrFile)': \(problem)") }
        return scenario
    }
    do {
        return try ScenarioLibrary.scenario(named: nameOrFile, seed: seed)
    } catch let error as ScenarioError {
        throw CLIError(error.description)
    }
}

/// The roles of a run with the planted bug `name` in place (hidden `--plant`), or the correct ones.
func plantedOverrides(_ name: String?) throws -> RoleOverrides {
    guard let name else { return .none }
    return try plantedBug(name).overrides
}

func seconds(_ nanos: Int64?) -> String {
    guard let nanos else { return "n/a" }
    return String(format: "%.1fs", Double(nanos) / 1e9)
}

func printReport(_ report: RunReport, wall: Double?, replay: String) {
    print("tasks: \(report.tasks) acknowledged, \(report.completed) completed, \(report.aborted) aborted, \(report.unfinished) unfinished, \(report.rejected) rejected")
    print(
        "latency (virtual, submit to final status): mean \(seconds(report.latencyMean)), p50 \(seconds(report.latencyP50)), "
            + "p90 \(seconds(report.latencyP90)), p99 \(seconds(report.latencyP99)), max \(seconds(report.latencyMax))")
    print("LLM calls: \(report.llmCalls) (\(report.wastedCalls) owner calls wasted on runs that saved nothing)")
    print("faults injected: \(report.faultsInjected)")
    var line = "events: \(report.events) (\(report.steps) steps), virtual time \(Interval(nanoseconds: report.virtualEnd))"
    if let wall { line += String(format: ", wall %.3f s", wall) }
    print(line)
    print("liveness: \(report.livenessConverged ? "converged" : "did not converge")")
    print("hash: \(report.hash)")
    printChecks(report.checks, violations: report.violations)
    if report.passed {
        print("result: PASS")
    } else {
        print("result: FAIL, \(report.violations.count) violation(s)")
        print("replay: \(replay)")
    }
}

/// Every checker's verdict, then the first violations.
func printChecks(_ checks: [CheckVerdict], violations: [Violation]) {
    print("checks: \(checks.filter { $0.passed && $0.ran }.count) of \(checks.count) passed\(checks.contains { !$0.ran } ? ", \(checks.filter { !$0.ran }.count) skipped" : "")")
    for check in checks {
        let verdict = check.passed ? (check.ran ? "pass" : "skip") : "FAIL"
        let name = "\(check.invariant) \(check.name)".padding(toLength: 26, withPad: " ", startingAt: 0)
        print("  \(name) \(verdict)  \(check.evidence)")
    }
    for violation in violations.prefix(20) { print("  \(violation)") }
    if violations.count > 20 { print("  ... and \(violations.count - 20) more") }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one seed of a scenario: a safety phase with faults, a liveness phase, then the invariant checks.",
        discussion: "Exit status: 0 pass, 1 an invariant was violated, 2 bad input."
    )

    @Option(help: "A scenario name (see `agentos scenarios list`) or a scenario file (JSON).")
    var scenario = "smoke"

    @Option(help: "The seed.")
    var seed: UInt64 = 1

    @Option(help: "Write the trace (JSON Lines) to this file.")
    var trace: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(
        help: ArgumentHelp(
            "Branch the run at AT (virtual nanoseconds): from there on its randomness is drawn from SEED, and with `:faults` the faults that begin from AT on too (repeatable, in time order; what `explore --guided` prints for a run it made).",
            valueName: "AT:SEED[:faults]"))
    var branch: [String] = []

    @Option(help: "Run with this planted bug in the core's roles (`agentos bench find --list` names them); for seeing a checker catch it.")
    var plant: String?

    @OptionGroup var cassette: CassetteOptions

    func run() throws {
        let resolved = try resolveScenario(scenario, seed: seed)
        let overrides = try plantedOverrides(plant)
        if plant != nil, trace != nil {
            throw CLIError("--plant runs a bug no trace can name, so `replay` would judge the trace on the correct code: leave out --trace")
        }
        if cassette.cassette != nil, trace != nil {
            throw CLIError("a trace does not carry the cassette's answers, so `replay` would run the fake LLM's instead: leave out --trace")
        }
        let recorded = try cassette.load()
        guard let recipe = Recipe(text: ([String(seed)] + branch).joined(separator: "@")) else {
            throw CLIError("--branch takes AT:SEED or AT:SEED:faults (virtual nanoseconds, then a seed), in time order; got \(branch.joined(separator: " "))")
        }
        let rerun =
            recipe.rerun(scenario: scenario) + (plant.map { " --plant \($0)" } ?? "")
            + (cassette.cassette.map { " --cassette \($0) --cassette-mode \(cassette.cassetteMode)" } ?? "")
        let replay = trace.map { "agentos replay \($0)" } ?? "\(rerun) --trace FILE"
        if !json {
            // First, so a crash never loses them.
            print("scenario: \(resolved.name), seed: \(seed)")
            print("rerun: \(rerun)")
            if let trace { print("replay: agentos replay \(trace)") }
        }
        let runner: ScenarioRun
        do {
            runner = try ScenarioRun(
                scenario: resolved, seed: seed, faults: recipe.reseeds.isEmpty ? nil : recipe.faults(for: resolved), overrides: overrides, cassette: recorded)
        } catch { throw CLIError(oneLineError(error)) }
        if let trace { try runner.record(to: trace) }
        let (report, wall) = try measure { try runner.execute() }
        if json { printJSON(report) } else { printReport(report, wall: wall, replay: replay) }
        if let recorded, let directory = cassette.cassette {
            if recorded.mode == .record {
                do { try CassetteFiles.append(recorded.recorded, to: directory) } catch let error as ServeError { throw CLIError(error.description) }
            }
            let summary = cassetteSummary(recorded, directory: directory)
            if json { FileHandle.standardError.write(Data((summary + "\n").utf8)) } else { print(summary) }
            if recorded.mode == .strict, recorded.missCount > 0 { throw ExitCode(ExitStatus.failed) }
        }
        if !report.passed { throw ExitCode(ExitStatus.failed) }
    }
}

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a trace: re-run its scenario, seed and faults on today's code and check the invariants, or with --exact verify it event by event.",
        discussion: "Exit status: 0 pass (or identical), 1 a violation (or a divergence), 2 the trace cannot be used."
    )

    @Argument(help: "The trace file.")
    var file: String

    @Flag(help: "Verify the recorded events one by one and name the first divergence.")
    var exact = false

    @Flag(help: "Print a readable timeline of the events that matter.")
    var timeline = false

    @Option(help: "Only timeline events about one task: task=ID.")
    var focus: String?

    @Flag(help: "Print the verdict as JSON.")
    var json = false

    @Option(help: "Also write the run in the Chrome/Perfetto trace-event format (open it at ui.perfetto.dev).")
    var perfetto: String?

    func run() throws {
        let recorded: RecordedTrace
        do { recorded = try RecordedTrace.load(path: file) } catch let error as TraceFileError { throw CLIError(error.description) }
        var focusTask: TaskID?
        if let focus {
            guard focus.hasPrefix("task="), let id = TaskID(focus.dropFirst(5)) else { throw CLIError("--focus takes task=ID, got '\(focus)'") }
            focusTask = id
        }
        if timeline || focusTask != nil {
            for line in try Timeline.render(recorded, task: focusTask) { print(line) }
        }
        if recorded.world == GossipRun.worldName {
            if perfetto != nil { throw CLIError("--perfetto needs a scenario trace; this is a kernel demo trace") }
            try SimReplay.verdict(file: file, json: json)
            return
        }
        do {
            if let perfetto {
                let report = try ScenarioReplay.perfetto(recorded, to: perfetto)
                if !json { print("wrote \(perfetto) (\(report.events) events, \(report.passed ? "pass" : "\(report.violations.count) violation(s)")); open it at https://ui.perfetto.dev") }
            }
            if exact {
                try printVerdict(try ScenarioReplay.exact(recorded), json: json)
            } else {
                let (scenario, seed, _) = try ScenarioReplay.inputs(recorded)
                if !json { print("scenario: \(scenario.name), seed: \(seed) (recorded inputs, today's code)") }
                let report = try ScenarioReplay.rerun(recorded)
                if json { printJSON(report) } else { printReport(report, wall: nil, replay: "agentos replay \(file) --timeline") }
                if !report.passed { throw ExitCode(ExitStatus.failed) }
            }
        } catch let error as TraceFileError {
            throw CLIError(error.description)
        } catch let error as ScenarioError {
            throw CLIError(error.description)
        }
    }
}

struct ShrinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shrink",
        abstract: "Minimise a failing trace while the same failure still happens, and write the smaller trace.",
        discussion: """
            A reduction is kept only if it fails the same invariant with the same kind of evidence. \
            The liveness budget is never cut below what the scenario's tasks need on the correct code. \
            With --baseline, a reduction is also rejected if the baseline binary (built from the correct \
            code) fails it too, so the shrunk trace passes there: a regression test of this bug.
            """
    )

    @Argument(help: "A failing scenario trace.")
    var file: String

    @Option(help: "Where to write the shrunk trace (default: FILE with .shrunk before the extension).")
    var output: String?

    @Option(help: "The most runs to spend.")
    var budget = 400

    @Option(help: "An agentos binary built from the correct code: every kept reduction must pass on it (`BIN replay`).")
    var baseline: String?

    func validate() throws {
        guard budget >= 1 else { throw ValidationError("--budget must be at least 1") }
        if let baseline, !FileManager.default.isExecutableFile(atPath: baseline) {
            throw ValidationError("--baseline \(baseline) is not an executable file")
        }
    }

    func run() throws {
        let recorded: RecordedTrace
        let inputs: (scenario: Scenario, seed: UInt64, faults: [FaultEntry])
        do {
            recorded = try RecordedTrace.load(path: file)
            inputs = try ScenarioReplay.inputs(recorded)
        } catch let error as TraceFileError {
            throw CLIError(error.description)
        }
        let first = try ScenarioRun(scenario: inputs.scenario, seed: inputs.seed, faults: inputs.faults).execute()
        guard let invariant = first.violations.first?.invariant else {
            throw CLIError("the trace's run passes on today's code: nothing to shrink")
        }
        print("shrinking while \(invariant) fails (seed \(inputs.seed), \(inputs.faults.count) faults, \(inputs.scenario.workload.clients * inputs.scenario.workload.requestsPerClient) requests)")
        print("liveness budget floor: \(min(inputs.scenario.phases.liveness, inputs.scenario.livenessRequired)) (what the scenario's tasks need on the correct code)")
        if let baseline { print("baseline: \(baseline) (every kept reduction must pass there)") }
        let result: ScenarioShrinker.Result
        do {
            result = try ScenarioShrinker.shrink(
                scenario: inputs.scenario, seed: inputs.seed, faults: inputs.faults, invariant: invariant, budget: budget,
                baseline: baseline.map(BaselineBinary.init).map { binary in { try binary.fails($0, $1, $2) } },
                progress: { print("  \($0)") })
        } catch let error as ScenarioError {
            throw CLIError(error.description)
        }
        let path = output ?? (file.hasSuffix(".jsonl") ? String(file.dropLast(6)) + ".shrunk.jsonl" : file + ".shrunk")
        let run = try ScenarioShrinker.finalRun(result, seed: inputs.seed, invariant: invariant)
        try run.record(to: path)
        let report = try run.execute()
        print(
            "after \(result.runs) runs: \(result.faults.count) faults, \(result.scenario.workload.clients * result.scenario.workload.requestsPerClient) requests, "
                + "safety phase \(result.scenario.phases.safety), liveness budget \(result.scenario.phases.liveness), \(report.events) events"
                + (run.cut ? " (cut at the first violation)" : ""))
        if baseline != nil { print("baseline: \(result.baselineRejections) reduction(s) rejected because the baseline failed them too") }
        print("evidence kept: \(result.evidence.joined(separator: "; "))")
        print("the failure still needs \(result.neededFaults.count) fault(s)" + (result.neededFaults.isEmpty ? "" : ":"))
        for fault in result.neededFaults { print("  t=\(fault.at) \(fault.action)") }
        if !result.uncheckedFaults.isEmpty { print("  (\(result.uncheckedFaults.count) more not checked: the budget ran out)") }
        print("still violated: \(report.violations.first.map(\.description) ?? "nothing (unexpected)")")
        print("wrote \(path)")
        print("replay: agentos replay \(path) --timeline")
    }
}

/// A baseline build for differential shrinking: a candidate is recorded to a temporary trace
/// and re-run there with `replay`, whose exit status says whether it fails (1) or passes (0).
struct BaselineBinary {
    let path: String

    init(_ path: String) { self.path = path }

    func fails(_ scenario: Scenario, _ seed: UInt64, _ faults: [FaultEntry]) throws -> Bool {
        let trace = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-baseline-\(ProcessInfo.processInfo.processIdentifier).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let candidate = try ScenarioRun(scenario: scenario, seed: seed, faults: faults)
        try candidate.record(to: trace)
        _ = try candidate.execute()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["replay", trace]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        switch process.terminationStatus {
        case 0: return false
        case 1: return true
        default: throw CLIError("the baseline \(path) exited \(process.terminationStatus) on a candidate trace (is it an agentos binary?)")
        }
    }
}

struct ScenariosCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenarios",
        abstract: "List the named scenarios, or print one as JSON to start a scenario file from.",
        subcommands: [List.self, Show.self]
    )

    struct List: ParsableCommand {
        func run() throws {
            for name in ScenarioLibrary.names { print(name) }
        }
    }

    struct Show: ParsableCommand {
        @Argument(help: "A scenario name.")
        var name: String

        @Option(help: "The seed (it shapes `swarm`).")
        var seed: UInt64 = 1

        func run() throws {
            printJSON(try resolveScenario(name, seed: seed))
        }
    }
}

/// What a run's cassette did, in a few lines: matches, misses (the first ones with their
/// difference), and what record mode added.
func cassetteSummary(_ cassette: Cassette, directory: String) -> String {
    var lines = ["cassette \(directory) (\(cassette.mode.rawValue)): \(cassette.matched) call(s) matched, \(cassette.missCount) missed"]
    if cassette.mode == .record { lines[0] += ", \(cassette.recorded.count) recorded" }
    // In record mode every miss was recorded: nothing to explain.
    let shown = cassette.mode == .record ? [] : cassette.misses.prefix(5)
    for miss in shown { lines.append("  miss: \(miss)") }
    if cassette.missCount > shown.count, !shown.isEmpty { lines.append("  ... and \(cassette.missCount - shown.count) more miss(es), retries included") }
    if cassette.mode == .strict, cassette.missCount > 0 { lines.append("  FAIL: strict mode and \(cassette.missCount) call(s) had no recorded answer") }
    return lines.joined(separator: "\n")
}
