import Foundation

/// What `bench find` measured: every search, and per bug and strategy the median and max over
/// the explorer seeds.
public struct FindReport: Codable, Sendable {
    public var budget: Int
    public var explorers: Int
    public var searches: [FindSearch]
    public var wallSeconds: Double

    /// One bug under one strategy, over its explorer seeds. Medians and maxima count a search
    /// that found nothing as worse than any that did: nil when it decides them.
    public struct Row: Codable, Sendable, Equatable {
        public var bug: String
        public var strategy: FindStrategy
        public var found: Int
        public var searches: Int
        public var runsMedian: Int?
        public var runsMax: Int?
        public var cpuMedian: Double?
        public var cpuMax: Double?
        public var invariants: [String]
    }

    public var rows: [Row] {
        var order: [String] = []
        var grouped: [String: [FindSearch]] = [:]
        for search in searches {
            let key = "\(search.bug) \(search.strategy.rawValue)"
            if grouped[key] == nil { order.append(key) }
            grouped[key, default: []].append(search)
        }
        return order.map { key in
            let group = grouped[key]!
            let byRuns = group.sorted { ($0.found ? $0.runs : Int.max) < ($1.found ? $1.runs : Int.max) }
            let byCPU = group.sorted { ($0.found ? $0.cpuSeconds : .infinity) < ($1.found ? $1.cpuSeconds : .infinity) }
            let middle = group.count / 2
            let allFound = group.allSatisfy(\.found)
            return Row(
                bug: group[0].bug, strategy: group[0].strategy, found: group.filter(\.found).count, searches: group.count,
                runsMedian: byRuns[middle].found ? byRuns[middle].runs : nil, runsMax: allFound ? byRuns.last!.runs : nil,
                cpuMedian: byCPU[middle].found ? byCPU[middle].cpuSeconds : nil, cpuMax: allFound ? byCPU.last!.cpuSeconds : nil,
                invariants: Array(Set(group.flatMap(\.invariants))).sorted())
        }
    }

    /// Per bug: the guided median CPU-seconds against the best unguided strategy's.
    public struct Comparison: Codable, Sendable {
        public var bug: String
        public var bestUnguided: FindStrategy?
        public var bestGuided: FindStrategy?
        public var unguidedCPU: Double?
        public var unguidedRuns: Int?
        public var guidedCPU: Double?
        public var guidedRuns: Int?
        /// Unguided over guided median CPU-seconds (nil when either found nothing at the median).
        public var speedup: Double?
    }

    public var comparisons: [Comparison] {
        let rows = self.rows
        var bugs: [String] = []
        for row in rows where !bugs.contains(row.bug) { bugs.append(row.bug) }
        return bugs.map { bug in
            func best(_ guided: Bool) -> Row? {
                rows.filter { $0.bug == bug && $0.strategy.isGuided == guided && $0.cpuMedian != nil }.min { $0.cpuMedian! < $1.cpuMedian! }
            }
            let unguided = best(false)
            let guided = best(true)
            let speedup = unguided?.cpuMedian.flatMap { u in guided?.cpuMedian.map { u / max($0, 1e-9) } }
            return Comparison(
                bug: bug, bestUnguided: unguided?.strategy, bestGuided: guided?.strategy, unguidedCPU: unguided?.cpuMedian, unguidedRuns: unguided?.runsMedian,
                guidedCPU: guided?.cpuMedian, guidedRuns: guided?.runsMedian, speedup: speedup)
        }
    }

    /// The table `bench find` prints.
    public func lines() -> [String] {
        func runs(_ value: Int?) -> String { value.map(String.init) ?? ">\(budget)" }
        func cpu(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
        var lines = [
            "bug                            strategy      found  runs med  runs max  cpu-s med  cpu-s max  invariants",
        ]
        for row in rows {
            lines.append(
                row.bug.padding(toLength: 31, withPad: " ", startingAt: 0) + row.strategy.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
                    + "\(row.found)/\(row.searches)".padding(toLength: 7, withPad: " ", startingAt: 0)
                    + runs(row.runsMedian).padding(toLength: 10, withPad: " ", startingAt: 0) + runs(row.runsMax).padding(toLength: 10, withPad: " ", startingAt: 0)
                    + cpu(row.cpuMedian).padding(toLength: 11, withPad: " ", startingAt: 0) + cpu(row.cpuMax).padding(toLength: 11, withPad: " ", startingAt: 0)
                    + row.invariants.joined(separator: ","))
        }
        let comparisons = self.comparisons
        if comparisons.contains(where: { $0.guidedCPU != nil || $0.unguidedCPU != nil }), rows.contains(where: { $0.strategy.isGuided }) {
            lines.append("")
            lines.append("bug                            best unguided        best guided          speed-up (median cpu-s)")
            for c in comparisons {
                let unguided = c.bestUnguided.map { "\($0.rawValue) \(cpu(c.unguidedCPU))s" } ?? "not found"
                let guided = c.guidedCPU.map { "\(c.bestGuided!.rawValue) \(cpu($0))s" } ?? "not found"
                let speedup = c.speedup.map { String(format: "%.1fx", $0) } ?? (c.guidedCPU != nil ? "only guided" : "-")
                lines.append(
                    c.bug.padding(toLength: 31, withPad: " ", startingAt: 0) + unguided.padding(toLength: 21, withPad: " ", startingAt: 0)
                        + guided.padding(toLength: 21, withPad: " ", startingAt: 0) + speedup)
            }
        }
        lines.append(String(format: "%d searches in %.1f s wall", searches.count, wallSeconds))
        return lines
    }
}

/// Stored figures of an accepted `bench find` run (`Benchmarks/Thresholds/bench-find.json`),
/// checked as the micro-benchmarks' thresholds are: a search strategy that finds a bug in fewer
/// of its explorer seeds, or whose median runs grew past the tolerance, is a regression. Runs
/// are deterministic for a given code; the tolerance absorbs the draws a code change moves.
public struct FindThresholds: Codable, Sendable {
    public var budget: Int
    public var explorers: Int
    public var rows: [Entry]

    public struct Entry: Codable, Sendable {
        public var bug: String
        public var strategy: FindStrategy
        public var found: Int
        public var runsMedian: Int?
    }

    public init(_ report: FindReport) {
        budget = report.budget
        explorers = report.explorers
        rows = report.rows.map { Entry(bug: $0.bug, strategy: $0.strategy, found: $0.found, runsMedian: $0.runsMedian) }
    }

    /// The median runs a row may reach before it counts as a regression.
    public static func allowed(_ stored: Int) -> Int { stored * 2 + 10 }

    /// The regressions of `report` against these figures (rows not stored are not judged; a
    /// report of another budget or explorer count is refused by the caller).
    public func regressions(_ report: FindReport) -> [String] {
        var found: [String] = []
        for row in report.rows {
            guard let stored = rows.first(where: { $0.bug == row.bug && $0.strategy == row.strategy }) else { continue }
            if row.found < stored.found {
                found.append("\(row.bug) \(row.strategy.rawValue): found in \(row.found) of \(row.searches) searches, \(stored.found) stored")
            }
            if let storedRuns = stored.runsMedian {
                if let runs = row.runsMedian {
                    if runs > Self.allowed(storedRuns) {
                        found.append("\(row.bug) \(row.strategy.rawValue): median \(runs) runs to the first failure, \(storedRuns) stored (at most \(Self.allowed(storedRuns)) allowed)")
                    }
                } else {
                    found.append("\(row.bug) \(row.strategy.rawValue): no median (found in too few searches), \(storedRuns) runs stored")
                }
            }
        }
        return found
    }
}
