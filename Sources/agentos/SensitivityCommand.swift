import ArgumentParser
import Campaigns
import Foundation

/// `agentos sensitivity`: the checkers' precision and recall on recorded histories with
/// anomalies injected into them.
struct SensitivityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensitivity",
        abstract: "The checkers' recall and false alarms: clean recorded runs, and the same runs with anomalies injected.",
        discussion: """
            Each source run is recorded, judged as it is (a clean control, which must pass every \
            checker) and judged again with each anomaly kind injected at several places: a second \
            owner, a fenced write applied, an epoch regression, a progress rewrite, a stale parent, a \
            status regression, a stuck task, an abort without a cause, an acknowledged task lost, a \
            duplicate task, a prompt missing a parent, a lost call, a slow task, an unjustified \
            rejection, an over-admission, a claim for a dead proxy life. The checker of each kind must \
            flag every one. \
            Exit status: 0 all flagged and no false alarm, 1 otherwise, 2 bad input.
            """
    )

    @Option(help: "The clean runs, SCENARIO@SEED comma-separated (default: smoke, proxy-crash, zombie-owner, region-failover, store-outage, swarm, seed 1).")
    var sources: String?

    @Option(help: "Places per anomaly kind and source.")
    var sites = 3

    @Flag(help: "Print every judged sample as JSON.")
    var json = false

    func validate() throws {
        guard sites >= 1 else { throw ValidationError("--sites must be at least 1") }
    }

    func run() throws {
        var corpus = SensitivityCorpus(sitesPerKind: sites)
        if let sources {
            corpus.sources = try ScenarioSeed.parseList(sources)
            for source in corpus.sources { _ = try resolveScenario(source.scenario, seed: source.seed) }
        }
        let report = try corpus.run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for line in report.lines() { print(line) }
        }
        if !report.passed { throw ExitCode(ExitStatus.failed) }
    }
}
