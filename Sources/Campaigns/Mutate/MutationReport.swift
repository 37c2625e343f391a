import Foundation
import Mutation

/// A mutation run's whole verdict: what `mutate` prints, writes as JSON, JUnit and HTML, and
/// what `mutate merge` joins from shards.
public struct MutationReport: Codable, Sendable {
    public var target: String
    public var sourceDigest: String
    public var operators: [MutationOperator]
    public var budget: MutationBudget
    /// The shard that made it, `I/K` (nil: every mutant).
    public var shard: String?
    /// Mutants the schemata build rejected, left out of the score.
    public var uncompilable: [Mutant]
    /// Budget runs whose trace hash the unswitched schemata binary reproduced exactly, of
    /// those compared.
    public var faithfulRuns: Int
    public var comparedRuns: Int
    public var results: [MutantResult]
    /// Allowlist keys that name no surviving mutant (stale: the code moved or the mutant died).
    public var staleAllowlist: [String]
    /// Survivors on the known-survivors list: gaps already recorded, which do not fail the run.
    public var knownSurvivors: [String] = []
    /// Keys on that list whose mutants are now killed: progress, to be taken off the list.
    public var nowKilled: [String] = []
    public var wallSeconds: Double

    public init(
        target: String, sourceDigest: String, operators: [MutationOperator], budget: MutationBudget, shard: String?, uncompilable: [Mutant],
        faithfulRuns: Int, comparedRuns: Int, results: [MutantResult], staleAllowlist: [String] = [], wallSeconds: Double
    ) {
        self.target = target
        self.sourceDigest = sourceDigest
        self.operators = operators
        self.budget = budget
        self.shard = shard
        self.uncompilable = uncompilable
        self.faithfulRuns = faithfulRuns
        self.comparedRuns = comparedRuns
        self.results = results
        self.staleAllowlist = staleAllowlist
        self.wallSeconds = wallSeconds
    }

    public func count(_ status: MutantStatus) -> Int { results.filter { $0.status == status }.count }
    public var kills: Int { results.filter(\.status.isKill).count }
    /// Mutants nothing explains: they survived the budget, or the budget never reached them.
    public var survivors: [MutantResult] { results.filter { $0.status == .survived || $0.status == .notCovered } }
    /// Survivors neither the allowlist nor the known-survivors list names: what fails a run.
    public var newSurvivors: [MutantResult] {
        let known = Set(knownSurvivors)
        return survivors.filter { !known.contains($0.mutant.key) }
    }

    /// Marks the survivors a recorded list already names as known, and lists the entries whose
    /// mutants were killed this time.
    public mutating func apply(knownSurvivors list: Set<String>) {
        knownSurvivors = survivors.map(\.mutant.key).filter { list.contains($0) }.sorted()
        nowKilled = results.filter { $0.status.isKill && list.contains($0.mutant.key) }.map(\.mutant.key).sorted()
    }
    /// Mutants that count: all but the equivalent ones.
    public var scored: Int { results.count - count(.equivalent) }
    /// Kills over scored mutants, percent (100 when nothing is scored).
    public var score: Double { scored == 0 ? 100 : Double(kills) * 100 / Double(scored) }
    public var cpuSeconds: Double { results.map(\.cpuSeconds).reduce(0, +) }

    /// For each checker (and crash, timeout), how many mutants it fired on when they died, most first.
    public var matrixSummary: [(checker: String, mutants: Int)] {
        var counts: [String: Int] = [:]
        for result in results where result.status.isKill {
            for checker in Set(result.killedBy) { counts[checker, default: 0] += 1 }
        }
        return counts.map { ($0.key, $0.value) }.sorted { ($1.mutants, $0.checker) < ($0.mutants, $1.checker) }
    }

    /// Mutants the checker named was the only one to fire on.
    public func soleKills(by checker: String) -> Int {
        results.filter { $0.status.isKill && $0.killedBy == [checker] }.count
    }

    /// Per file: mutants, kills, survivors (never reached included), equivalents.
    public var byFile: [FileTally] {
        Dictionary(grouping: results, by: \.mutant.file).map { file, mine in
            let kills = mine.filter(\.status.isKill).count
            let unexplained = mine.filter { $0.status == .survived || $0.status == .notCovered }.count
            let notReached = mine.filter { $0.status == .notCovered }.count
            return FileTally(file: file, mutants: mine.count, kills: kills, survivors: unexplained, notReached: notReached)
        }.sorted { $0.file < $1.file }
    }

    public struct FileTally: Sendable {
        public var file: String
        public var mutants: Int
        public var kills: Int
        public var survivors: Int
        public var notReached: Int
    }

    /// Per operator: mutants, kills, equivalents.
    public var byOperator: [(op: MutationOperator, mutants: Int, kills: Int, equivalent: Int)] {
        MutationOperator.allCases.compactMap { op in
            let mine = results.filter { $0.mutant.mutationOperator == op }
            guard !mine.isEmpty else { return nil }
            return (op, mine.count, mine.filter(\.status.isKill).count, mine.filter { $0.status == .equivalent }.count)
        }
    }

    /// Median runs to the kill, and median CPU-seconds, over killed mutants.
    public var medianRunsToKill: Double? { median(results.filter(\.status.isKill).map { Double($0.runs) }) }
    public var medianCPUToKill: Double? { median(results.filter(\.status.isKill).map(\.cpuSeconds)) }

    private func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// Marks survivors the allowlist explains as equivalent; lists its entries that name no
    /// survivor.
    public mutating func apply(_ allowlist: MutationAllowlist) {
        var used: Set<String> = []
        for index in results.indices where !results[index].status.isKill {
            if let reason = allowlist.reasons[results[index].mutant.key] {
                results[index].status = .equivalent
                results[index].reason = reason
                used.insert(results[index].mutant.key)
            } else if results[index].status == .equivalent {
                results[index].status = results[index].reached == false ? .notCovered : .survived
                results[index].reason = nil
            }
        }
        // A shard sees only its own mutants: an entry is stale only if no mutant has its key.
        let present = Set(results.map(\.mutant.key))
        staleAllowlist = allowlist.reasons.keys.filter { !used.contains($0) && (shard == nil || present.contains($0)) }.sorted()
    }

    /// The shards' reports as one (same target, sources, operators and budget; no mutant twice).
    public static func merge(_ shards: [MutationReport]) throws -> MutationReport {
        guard var merged = shards.first else { throw CampaignError("mutate merge: no reports given") }
        var seen = Set(merged.results.map(\.id))
        for shard in shards.dropFirst() {
            guard shard.target == merged.target, shard.sourceDigest == merged.sourceDigest else {
                throw CampaignError("mutate merge: the reports are of different sources (\(merged.target) \(merged.sourceDigest), \(shard.target) \(shard.sourceDigest))")
            }
            guard shard.operators == merged.operators, shard.budget == merged.budget else {
                throw CampaignError("mutate merge: the reports ran different operators or budgets")
            }
            for result in shard.results {
                guard seen.insert(result.id).inserted else { throw CampaignError("mutate merge: mutant \(result.id) is in two reports (overlapping shards)") }
                merged.results.append(result)
            }
            merged.faithfulRuns += shard.faithfulRuns
            merged.comparedRuns += shard.comparedRuns
            merged.wallSeconds = max(merged.wallSeconds, shard.wallSeconds)
            merged.staleAllowlist = Array(Set(merged.staleAllowlist).intersection(shard.staleAllowlist)).sorted()
            merged.knownSurvivors = (merged.knownSurvivors + shard.knownSurvivors).sorted()
            merged.nowKilled = (merged.nowKilled + shard.nowKilled).sorted()
        }
        merged.results.sort { $0.id < $1.id }
        merged.shard = nil
        return merged
    }

    // MARK: text

    public func lines(diffs: Bool = true) -> [String] {
        var out: [String] = []
        out.append(
            String(
                format: "mutation score %.1f%%: %d of %d mutants killed (%d by a checker, %d crashed, %d timed out), %d equivalent, %d survived, %d never reached; %d did not compile",
                score, kills, scored, count(.killed), count(.crashed), count(.timedOut), count(.equivalent), count(.survived), count(.notCovered),
                uncompilable.count))
        out.append(
            "target \(target), \(budget.runs.count) runs per mutant at most (\(budget.scenarios.count) scenarios x \(budget.seedsPerScenario) seeds + \(budget.swarmSeeds) swarm seeds)"
                + (shard.map { ", shard \($0)" } ?? ""))
        out.append("schemata without a switch: \(faithfulRuns) of \(comparedRuns) trace hashes equal to the original build's")
        if let runs = medianRunsToKill, let cpu = medianCPUToKill {
            out.append(String(format: "to the kill: median %.0f runs, %.2f CPU-s; all mutants %.0f CPU-s, %.0f s wall", runs, cpu, cpuSeconds, wallSeconds))
        }
        out.append("kill matrix (checkers firing on each mutant's first failing run; sole: the only one firing):")
        for (checker, mutants) in matrixSummary {
            out.append("  \(checker.padding(toLength: 28, withPad: " ", startingAt: 0)) \(String(format: "%4d", mutants)) mutants, \(soleKills(by: checker)) sole")
        }
        out.append("by operator:")
        for row in byOperator {
            out.append("  \(row.op.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)) \(row.kills)/\(row.mutants - row.equivalent) killed, \(row.equivalent) equivalent")
        }
        out.append("by file (mutants, killed, survived; never reached among them):")
        for row in byFile {
            out.append("  \(row.file.padding(toLength: 32, withPad: " ", startingAt: 0)) \(String(format: "%4d %4d %4d  %d", row.mutants, row.kills, row.survivors, row.notReached))")
        }
        if !survivors.isEmpty {
            out.append("survivors (not explained by the allowlist; * on the known-survivors list):")
            let known = Set(knownSurvivors)
            for result in survivors {
                let mutant = result.mutant
                let how = result.status == .notCovered ? "no run reached it" : "passed \(result.runs) runs"
                let mark = known.contains(mutant.key) ? "*" : " "
                out.append(" \(mark)#\(mutant.id) \(mutant.file):\(mutant.line) \(mutant.mutationOperator.rawValue) in \(mutant.function) (\(how))")
                out.append("    key \(mutant.key)")
                if diffs { out += mutant.diff.split(separator: "\n").map { "    \($0)" } }
            }
        }
        for key in staleAllowlist { out.append("allowlist entry names no surviving mutant (remove it): \(key)") }
        if !knownSurvivors.isEmpty {
            out.append("\(knownSurvivors.count) of the \(survivors.count) survivors are on the known-survivors list; \(newSurvivors.count) are new")
        }
        for key in nowKilled { out.append("now killed, take it off the known-survivors list: \(key)") }
        return out
    }

    // MARK: JUnit

    /// One test case per mutant: a survivor fails, a kill passes with how it died.
    public func writeJUnit(to path: String) throws {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuite name=\"mutate \(JUnitReport.escape(target))\" tests=\"\(results.count)\" failures=\"\(survivors.count)\">\n"
        for result in results {
            let mutant = result.mutant
            let name = JUnitReport.escape("#\(mutant.id) \(mutant.mutationOperator.rawValue) \(mutant.file):\(mutant.line)")
            xml += "  <testcase classname=\"\(JUnitReport.escape(mutant.function))\" name=\"\(name)\">\n"
            switch result.status {
            case .survived, .notCovered:
                xml += "    <failure message=\"\(result.status == .notCovered ? "no run reached it" : "survived \(result.runs) runs")\">\(JUnitReport.escape(mutant.diff))</failure>\n"
            case .equivalent:
                xml += "    <skipped message=\"equivalent: \(JUnitReport.escape(result.reason ?? ""))\"/>\n"
            default:
                xml += "    <system-out>\(result.status.rawValue) by \(JUnitReport.escape(result.killedBy.joined(separator: ", "))) on \(result.killingRun ?? "?") after \(result.runs) runs</system-out>\n"
            }
            xml += "  </testcase>\n"
        }
        xml += "</testsuite>\n"
        try xml.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// Survivors judged equivalent, each with a written reason: `KEY  reason`, one per line, `#`
/// comments. `mutate` fails on a survivor not listed.
public struct MutationAllowlist: Sendable {
    public var reasons: [String: String]

    public init(reasons: [String: String] = [:]) { self.reasons = reasons }

    public init(text: String, source: String) throws {
        var reasons: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let parts = line.split(separator: " ", maxSplits: 1)
            let reason = parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            guard !reason.isEmpty else { throw CampaignError("\(source):\(number + 1): an allowlist entry needs a reason after its key") }
            guard reasons[String(parts[0])] == nil else { throw CampaignError("\(source):\(number + 1): \(parts[0]) is listed twice") }
            reasons[String(parts[0])] = reason
        }
        self.reasons = reasons
    }

    public static func load(_ path: String) throws -> MutationAllowlist {
        guard FileManager.default.fileExists(atPath: path) else { return MutationAllowlist() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CampaignError("cannot read the allowlist \(path)") }
        return try MutationAllowlist(text: text, source: path)
    }
}

/// The survivors a project has recorded as known gaps, one key per line (`#` comments): a run
/// fails only on a survivor not on it, so CI guards the score from falling while the gaps are
/// worked off. `mutate --record-survivors FILE` writes it.
public enum KnownSurvivors {
    public static func load(_ path: String) throws -> Set<String> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CampaignError("cannot read the known-survivors list \(path)") }
        return Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
    }

    public static func write(_ report: MutationReport, to path: String) throws {
        var text = "# Survivors of `agentos mutate` on \(report.target), recorded as known gaps: a run fails only on a survivor\n"
        text += "# not listed here. Regenerate with `agentos mutate --record-survivors \(path)` after killing some.\n"
        for result in report.survivors.sorted(by: { $0.mutant.key < $1.mutant.key }) {
            text += "\(result.mutant.key)\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
