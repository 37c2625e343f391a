import ArgumentParser
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
    /// Above this many seeds the coverage check would need too much memory for its bit set.
    static let rangeMax: UInt64 = 1 << 33

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
                throw CLIError("'\(file)' is not a summary of `agentos explore --json` (\(error))")
            }
        }
        let scenarios = Set(shards.map(\.summary.scenario))
        guard scenarios.count == 1 else { throw CLIError("the shards explore different scenarios: \(scenarios.sorted().joined(separator: ", "))") }
        let coverage = try Self.coverage(shards.map { ($0.file, $0.summary) })
        let merged = MergedSummary(
            scenario: shards[0].summary.scenario, start: coverage.start, seeds: coverage.count, shards: shards.count,
            passed: shards.map(\.summary.passed).reduce(0, +), failed: shards.map(\.summary.failed).reduce(0, +),
            crashed: shards.map(\.summary.crashed).reduce(0, +),
            byInvariant: Self.mergeCounts(shards.flatMap(\.summary.byInvariant)), failing: shards.flatMap(\.summary.failing).sorted(),
            traces: shards.flatMap(\.summary.traces), cpuSeconds: shards.map(\.summary.wallSeconds).reduce(0, +))
        if let junitOut { try Self.mergeJUnit(junit, into: junitOut, name: "agentos explore \(merged.scenario) (\(shards.count) shards)") }
        if json {
            printJSON(merged)
        } else {
            merged.print()
        }
        if merged.failed + merged.crashed > 0 { throw ExitCode(ExitStatus.failed) }
    }

    /// The seeds the shards claim, checked to be one contiguous range covered exactly once.
    static func coverage(_ shards: [(file: String, summary: ExploreSummary)]) throws -> (start: UInt64, count: UInt64) {
        for (file, summary) in shards {
            guard summary.shardCount >= 1, (0..<summary.shardCount).contains(summary.shardIndex) else {
                throw CLIError("'\(file)': shard \(summary.shardIndex)/\(summary.shardCount) is not a shard")
            }
            let expected = Self.seedCount(summary)
            guard UInt64(summary.seeds) == expected else {
                throw CLIError("'\(file)': shard \(summary.shardIndex)/\(summary.shardCount) reports \(summary.seeds) seed(s) but covers \(expected): an incomplete run")
            }
        }
        let low = shards.map(\.summary.start).min()!
        let high = shards.map { $0.summary.start + $0.summary.rangeSeeds }.max()!
        guard high - low <= rangeMax else { throw CLIError("the shards span \(high - low) seeds; merge at most \(rangeMax) at once") }
        var covered = [UInt64](repeating: 0, count: Int((high - low + 63) / 64))
        var overlaps: [(UInt64, String)] = []
        for (file, summary) in shards {
            var offset = UInt64(summary.shardIndex)
            while offset < summary.rangeSeeds {
                let bit = summary.start + offset - low
                let word = Int(bit / 64), mask = UInt64(1) << (bit % 64)
                if covered[word] & mask != 0 {
                    if overlaps.count < 5 { overlaps.append((summary.start + offset, file)) }
                } else {
                    covered[word] |= mask
                }
                offset += UInt64(summary.shardCount)
            }
        }
        if !overlaps.isEmpty {
            let named = overlaps.map { "seed \($0.0) (again in '\($0.1)')" }.joined(separator: ", ")
            throw CLIError("overlapping shards: \(named)\(overlaps.count == 5 ? ", ..." : "")")
        }
        var missing: [UInt64] = []
        var missingCount: UInt64 = 0
        for bit in 0..<(high - low) where covered[Int(bit / 64)] & (UInt64(1) << (bit % 64)) == 0 {
            missingCount += 1
            if missing.count < 5 { missing.append(low + bit) }
        }
        if missingCount > 0 {
            throw CLIError(
                "missing shards: \(missingCount) seed(s) of \(low)..<\(high) were never run, e.g. \(missing.map(String.init).joined(separator: ", ")) "
                    + "(each shard I/K covers the seeds whose offset mod K is I: is a shard's file absent?)")
        }
        return (low, high - low)
    }

    /// How many seeds shard I of K covers among `rangeSeeds`.
    static func seedCount(_ summary: ExploreSummary) -> UInt64 {
        let count = UInt64(summary.shardCount), index = UInt64(summary.shardIndex)
        return summary.rangeSeeds / count + (summary.rangeSeeds % count > index ? 1 : 0)
    }

    /// "7:2" counts added up by invariant.
    static func mergeCounts(_ entries: [String]) -> [String] {
        var totals: [Int: Int] = [:]
        for entry in entries {
            let parts = entry.split(separator: ":").compactMap { Int($0) }
            if parts.count == 2 { totals[parts[0], default: 0] += parts[1] }
        }
        return totals.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
    }

    /// One test suite of every shard's test cases (the reports `explore --junit` writes).
    static func mergeJUnit(_ files: [String], into path: String, name: String) throws {
        var cases = "", tests = 0, failures = 0
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8), let open = text.range(of: "<testsuite "),
                let head = text.range(of: ">", range: open.upperBound..<text.endIndex), let close = text.range(of: "</testsuite>", options: .backwards)
            else { throw CLIError("'\(file)' is not a JUnit report of `agentos explore --junit`") }
            let attributes = String(text[open.upperBound..<head.lowerBound])
            tests += Self.attribute("tests", in: attributes)
            failures += Self.attribute("failures", in: attributes)
            cases += text[head.upperBound..<close.lowerBound].trimmingCharacters(in: .newlines) + "\n"
        }
        let escaped = name.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "<", with: "&lt;")
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"\(escaped)\" tests=\"\(tests)\" failures=\"\(failures)\">\n\(cases)</testsuite>\n"
        do {
            try xml.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw CLIError("cannot write '\(path)': \(error.localizedDescription)")
        }
    }

    static func attribute(_ name: String, in attributes: String) -> Int {
        guard let start = attributes.range(of: "\(name)=\"") else { return 0 }
        return Int(attributes[start.upperBound...].prefix { $0.isNumber }) ?? 0
    }
}

struct MergedSummary: Encodable {
    let scenario: String
    let start: UInt64
    let seeds: UInt64
    let shards: Int
    let passed: Int
    let failed: Int
    let crashed: Int
    let byInvariant: [String]
    let failing: [UInt64]
    let traces: [String]
    /// The shards' wall times added up: what the sweep cost in machine time.
    let cpuSeconds: Double

    func print() {
        Swift.print("explore-merge: \(scenario), seeds \(start)..<\(start + seeds) in \(shards) shard(s), each seed run exactly once")
        Swift.print("passed \(passed), failed \(failed), crashed \(crashed); \(String(format: "%.0f", cpuSeconds)) s of shard wall time in all")
        if !byInvariant.isEmpty { Swift.print("violations by invariant: \(byInvariant.joined(separator: ", "))") }
        if !failing.isEmpty {
            Swift.print("failing seeds: \(failing.prefix(20).map(String.init).joined(separator: ", "))\(failing.count > 20 ? ", ..." : "")")
            Swift.print("rerun one: agentos run --scenario \(scenario) --seed SEED")
        }
        for trace in traces { Swift.print("trace (on the shard's machine): \(trace)") }
        Swift.print(failed + crashed == 0 ? "result: PASS" : "result: FAIL")
    }
}
