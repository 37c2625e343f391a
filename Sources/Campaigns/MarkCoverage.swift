import Checks
import Foundation
import Scenarios

/// Which marks a campaign's runs reached, how often, and which none reached: the coverage
/// report every `explore` prints and `--json` carries.
public struct MarkCoverage: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        /// Hits over every run, and the runs that hit it at least once.
        public var hits: Int
        public var runs: Int
    }

    /// Marks reached, in the registry's order.
    public var reached: [Entry]
    /// Marks no run reached, in the registry's order.
    public var unreached: [String]
    /// Runs counted (crashed seeds carry no marks).
    public var runs: Int

    /// The coverage of these seeds' verdicts.
    public init(_ results: [SeedResult]) {
        var hits: [String: Int] = [:], runs: [String: Int] = [:]
        for marks in results.compactMap(\.marks) {
            for (name, count) in marks {
                hits[name, default: 0] += count
                runs[name, default: 0] += 1
            }
        }
        self.init(hits: hits, runs: runs, total: results.filter { $0.marks != nil }.count)
    }

    /// Shards' coverage added up.
    public init(merging parts: [MarkCoverage]) {
        var hits: [String: Int] = [:], runs: [String: Int] = [:]
        for entry in parts.flatMap(\.reached) {
            hits[entry.name, default: 0] += entry.hits
            runs[entry.name, default: 0] += entry.runs
        }
        self.init(hits: hits, runs: runs, total: parts.map(\.runs).reduce(0, +))
    }

    init(hits: [String: Int], runs: [String: Int], total: Int) {
        reached = Mark.allCases.compactMap { mark in hits[mark.name].map { Entry(name: mark.name, hits: $0, runs: runs[mark.name] ?? 0) } }
        unreached = Mark.allCases.filter { hits[$0.name] == nil }.map(\.name)
        self.runs = total
    }

    /// The required marks no run reached.
    public func missing(_ required: [Mark]) -> [Mark] {
        let reachedNames = Set(reached.map(\.name))
        return required.filter { !reachedNames.contains($0.name) }
    }

    /// The marks `--require-marks` names: `all`; `scenario`, the marks the named scenario
    /// `scenario` is built to reach (`ScenarioLibrary.requiredMarks`); or a file of mark names
    /// (one per line, `#` comments). An unknown name is an error, never silently skipped.
    public static func required(_ spec: String, scenario: String) throws -> [Mark] {
        if spec == "all" { return Mark.allCases }
        if spec == "scenario" {
            guard let marks = ScenarioLibrary.requiredMarks(scenario) else {
                throw CampaignError(
                    "--require-marks scenario: '\(scenario)' is not a named scenario, so it has no marks of its own; pass a file of mark names")
            }
            return marks
        }
        let text: String
        do {
            text = try String(contentsOfFile: spec, encoding: .utf8)
        } catch {
            throw CampaignError("--require-marks: cannot read '\(spec)' (a file of mark names, or `all`)")
        }
        return try parse(text, source: spec)
    }

    /// Mark names, one per line; blank lines and `#` comments skipped.
    public static func parse(_ text: String, source: String) throws -> [Mark] {
        var marks: [Mark] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            guard !line.isEmpty else { continue }
            guard let mark = Mark(name: line) else {
                throw CampaignError("\(source):\(index + 1): no mark is named '\(line)' (`agentos marks` lists them)")
            }
            marks.append(mark)
        }
        return marks
    }

    /// The report: each reached mark's hits and runs, then the marks never reached.
    public func lines() -> [String] {
        var lines = ["marks reached: \(reached.count) of \(Mark.allCases.count) over \(runs) run(s)"]
        let width = max(20, reached.map(\.name.count).max() ?? 0)
        for entry in reached {
            lines.append("  \(entry.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(entry.hits) hit(s) in \(entry.runs) run(s)")
        }
        if !unreached.isEmpty { lines.append("never reached: \(unreached.joined(separator: ", "))") }
        return lines
    }
}
