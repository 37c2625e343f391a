import ArgumentParser
import Campaigns
import Foundation

/// Merges the summaries of an exploration run in shards (on a cluster, a CI matrix, several
/// machines) into one verdict, after checking that the shards cover their seed range exactly
/// once: a seed run twice or never is an error, not a pass.
struct ExploreMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore-merge",
        abstract: "Merge the JSON summaries of `explore --shard I/K --json` runs into one verdict, checking the shards cover the seeds exactly once.",
        discussion: """
            Every file is one shard's summary (what `agentos explore --json` prints). The shards must explore \
            the same scenario, and together cover the range from the lowest start to the highest end exactly \
            once: an overlap or a gap names the seeds and exits with status 2. JUnit reports of the shards \
            (--junit) are merged into one (--junit-out). Exit status: 0 every seed passed, 1 a seed failed or \
            crashed, 2 bad input (an unreadable summary, mixed scenarios, overlapping or missing shards).
            """
    )

    @Argument(help: "The shards' JSON summaries.") var files: [String]
    @Option(help: "A shard's JUnit report to merge (repeat for each shard).") var junit: [String] = []
    @Option(help: "Write the merged JUnit report here.") var junitOut: String?
    @Flag(help: "Print the merged summary as JSON.") var json = false
    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one shard summary") }
        if junitOut != nil, junit.isEmpty { throw ValidationError("--junit-out needs the shards' reports (--junit FILE ...)") }
    }

    func run() throws {
        var shards: [(file: String, summary: ExploreSummary)] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read the shard summary '\(file)'") }
            do {
                shards.append((file, try JSONDecoder().decode(ExploreSummary.self, from: data)))
            } catch {
                throw CLIError("'\(file)' is not a summary of `agentos explore --json` (\(oneLineError(error)))")
            }
        }
        let merged = try ShardMerge.merge(shards)
        if let junitOut { try JUnitReport.merge(junit, into: junitOut, name: "agentos explore \(merged.scenario) (\(shards.count) shards)") }
        if json {
            printJSON(merged)
        } else {
            merged.print()
        }
        if merged.failed + merged.crashed > 0 { throw ExitCode(ExitStatus.failed) }
    }
}
