import ArgumentParser
import Campaigns
import Checks
import ClusterTest
import FakeLLM
import Foundation
import Scenarios
import Server

/// `agentos replay-real DIR`: a run recorded on real processes (`cluster-test --record DIR`),
/// run again in the simulator, so what failed on real processes becomes a seeded run that can
/// be traced, replayed and shrunk.
struct ReplayRealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay-real",
        abstract: "Replay a run recorded on real processes (`cluster-test --record DIR`) in the simulator and compare the verdicts.",
        discussion: """
            The scenario comes from the recording: the cluster's topology, every client request at its recorded time, the faults on the \
            nodes of the process they struck (clock skew and a full disk have no simulator counterpart and are listed as not replayed), \
            and the LLM: its recorded answers and latencies (--llm recorded, a cassette) or the fake LLM the cluster ran (--llm \
            generator, the only mode that writes a trace, since a trace does not carry the cassette). A planted core bug the real run \
            ran is planted again unless --no-plant. Exit status: 0 the replay passes, 1 it fails a checker, 2 bad input.
            """
    )

    @Argument(help: "The recording's directory.")
    var directory: String

    enum LLMSource: String, ExpressibleByArgument, CaseIterable {
        case recorded, generator
    }

    @Option(help: "Where the LLM's answers come from: recorded (the recording's calls, a cassette) or generator (the recorded fake LLM configuration).")
    var llm = LLMSource.recorded

    @Option(help: "With --llm recorded, what a call with no recorded answer does: fallback (the fake LLM answers) or strict (the replay fails).")
    var cassetteMode = "fallback"

    @Option(help: "The simulator's seed (default: the recorded run's).")
    var seed: UInt64?

    @Flag(help: "Run the correct code even if the real run had a planted core bug.")
    var noPlant = false

    @Option(help: "Write the replay's trace to this file (needs --llm generator).")
    var trace: String?

    @Flag(help: "Print the comparison as JSON.")
    var json = false

    func validate() throws {
        guard ["fallback", "strict"].contains(cassetteMode) else { throw ValidationError("--cassette-mode must be fallback or strict, got '\(cassetteMode)'") }
        if trace != nil, llm == .recorded {
            throw ValidationError("--trace needs --llm generator: a trace does not carry the recorded answers, so `replay` could not run it again")
        }
    }

    struct Comparison: Encodable {
        var recording: String
        var realPassed: Bool
        var realFailed: [String]
        var replayPassed: Bool
        var replayFailed: [String]
        /// Both runs passed, or both failed exactly the same checkers.
        var sameVerdict: Bool
        /// Every checker the real run failed, the replay failed too.
        var reproduced: Bool
        var replayedFaults: [String]
        var notReplayed: [String]
        var cassetteMatched: Int?
        var cassetteMissed: Int?
        /// The first misses, each with its request and its difference from the nearest recorded one.
        var cassetteMisses: [CassetteMiss]?
        var plantedCoreBug: String?
        var replay: RunReport
    }

    func run() throws {
        let recording: RealRunReplay
        do { recording = try RealRunReplay.load(directory) } catch let error as ClusterTestError { throw CLIError(error.description) }
        let summary = recording.summary
        let plant = noPlant ? nil : summary.plantedCoreBug
        let overrides = try plantedOverrides(plant)
        if let plant, trace != nil {
            throw CLIError(
                "the real run had the planted bug \(plant), which no trace can name, so `replay` would judge the trace on the correct code: add --no-plant or leave out --trace"
            )
        }
        let cassette = llm == .recorded ? Cassette(entries: recording.cassetteEntries, mode: CassetteMode(rawValue: cassetteMode)!) : nil
        let seed = self.seed ?? summary.seed
        let requests = recording.scenario.workload.recorded?.count ?? 0
        if !json {
            print("recording: \(directory) (seed \(summary.seed), x\(summary.speedup), \(requests) request(s) from \(summary.clients) client(s))")
            print(
                "real verdict: \(summary.passed ? "PASS" : "FAIL")\(summary.failedChecks.isEmpty ? "" : " (\(summary.failedChecks.joined(separator: ", ")))")")
            if let plant { print("planted core bug, planted again: \(plant)") }
            for line in recording.replayedFaults { print("  fault \(line)") }
            for line in recording.notReplayed { print("  not replayed: \(line)") }
            print("llm: \(cassette.map { "\($0.entryCount) recorded call(s), \($0.mode.rawValue)" } ?? "the recorded fake LLM configuration")")
        }
        let runner: ScenarioRun
        do {
            runner = try ScenarioRun(scenario: recording.scenario, seed: seed, overrides: overrides, cassette: cassette)
        } catch { throw CLIError("the recording does not make a valid scenario: \(oneLineError(error))") }
        if let trace { try runner.record(to: trace) }
        let (report, wall) = try measure { try runner.execute() }
        let replayFailed = report.checks.filter { $0.ran && !$0.passed }.map(\.name)
        let realFailed = summary.failedChecks
        let comparison = Comparison(
            recording: directory, realPassed: summary.passed, realFailed: realFailed, replayPassed: report.passed, replayFailed: replayFailed,
            sameVerdict: summary.passed == report.passed && Set(realFailed) == Set(replayFailed), reproduced: Set(realFailed).isSubset(of: replayFailed),
            replayedFaults: recording.replayedFaults, notReplayed: recording.notReplayed, cassetteMatched: cassette?.matched,
            cassetteMissed: cassette?.missCount,
            cassetteMisses: cassette?.misses,
            plantedCoreBug: plant, replay: report)
        if json {
            printJSON(comparison)
        } else {
            printReport(report, wall: wall, replay: trace.map { "agentos replay \($0)" } ?? "agentos replay-real \(directory)")
            if let cassette { print(cassetteSummary(cassette, directory: directory)) }
            let verdict =
                comparison.sameVerdict
                ? "the replay gives the real run's verdict"
                : comparison.reproduced
                    ? "the replay fails every checker the real run failed, and \(Set(replayFailed).subtracting(realFailed).sorted().joined(separator: ", ")) too"
                    : "the replay does not reproduce the real verdict (real failed: \(realFailed.isEmpty ? "none" : realFailed.joined(separator: ", ")))"
            print("compared: real \(summary.passed ? "PASS" : "FAIL"), simulated \(report.passed ? "PASS" : "FAIL"): \(verdict)")
        }
        if !report.passed { throw ExitCode(ExitStatus.failed) }
    }
}
