import Checks
import Foundation
import Scenarios
import Sim

/// The checkers' own precision and recall: clean recorded runs, each judged as it is (the
/// controls) and with every anomaly kind injected at several places. A checker must flag every
/// anomaly of its kind and nothing on the controls.
public struct SensitivityCorpus: Sendable {
    /// The clean runs the anomalies go into.
    public var sources: [ScenarioSeed]
    /// Places per anomaly kind and source: the first, the last and evenly between.
    public var sitesPerKind: Int
    public var progress: Bool

    public init(sources: [ScenarioSeed] = SensitivityCorpus.defaultSources, sitesPerKind: Int = 3, progress: Bool = isatty(2) != 0) {
        self.sources = sources
        self.sitesPerKind = sitesPerKind
        self.progress = progress
    }

    /// Runs that between them hold every kind's sites: claims, moves, fencing, restarts,
    /// crashes, and a graph whose prompts carry parents.
    public static let defaultSources = [
        ScenarioSeed(scenario: "smoke", seed: 1), ScenarioSeed(scenario: "proxy-crash", seed: 1),
        ScenarioSeed(scenario: "zombie-owner", seed: 1), ScenarioSeed(scenario: "region-failover", seed: 1),
        ScenarioSeed(scenario: "store-outage", seed: 1), ScenarioSeed(scenario: "graph-dag", seed: 1), ScenarioSeed(scenario: "swarm", seed: 1),
    ]

    public func run() throws -> SensitivityReport {
        var samples: [SensitivitySample] = []
        var bar = ProgressBar(total: sources.count, label: "sensitivity", enabled: progress)
        for (done, source) in sources.enumerated() {
            let clean = try Self.record(source)
            samples.append(SensitivitySample(source: source.description, anomaly: nil, site: nil, fired: try Self.fired(clean)))
            for kind in Anomaly.allCases {
                let sites = kind.sites(in: clean)
                for site in Self.spread(sites, count: sitesPerKind) {
                    var edited = clean
                    kind.inject(into: &edited, at: site)
                    samples.append(SensitivitySample(source: source.description, anomaly: kind, site: site, fired: try Self.fired(edited)))
                }
            }
            bar.update(done + 1)
        }
        bar.finish()
        return SensitivityReport(samples: samples)
    }

    /// Runs one scenario seed, recording its trace, and opens the trace for editing.
    static func record(_ source: ScenarioSeed) throws -> EditableTrace {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sensitivity-\(getpid())-\(source.scenario)-\(source.seed).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let scenario = try ScenarioLibrary.scenario(named: source.scenario, seed: source.seed)
        let run = try ScenarioRun(scenario: scenario, seed: source.seed)
        try run.record(to: path)
        _ = try run.execute()
        return try EditableTrace(try RecordedTrace.load(path: path))
    }

    /// The checkers a trace fails, by name.
    static func fired(_ trace: EditableTrace) throws -> [String] {
        try trace.judge().checks.filter { !$0.passed }.map(\.name).sorted()
    }

    /// Up to `count` of `sites`, the first and the last among them.
    static func spread(_ sites: [Int], count: Int) -> [Int] {
        guard sites.count > count, count > 1 else { return Array(sites.prefix(max(count, 0))) }
        return (0..<count).map { sites[$0 * (sites.count - 1) / (count - 1)] }
    }
}

/// One judged trace: a clean control (`anomaly` nil) or one anomaly at one place.
public struct SensitivitySample: Codable, Sendable {
    public var source: String
    public var anomaly: Anomaly?
    public var site: Int?
    public var fired: [String]
}

/// Per checker: the anomalies of its kind it flagged (recall), and its flags on clean controls
/// (false alarms). Flags on other kinds' anomalies are collateral, shown but not held against it.
public struct SensitivityReport: Codable, Sendable {
    public var samples: [SensitivitySample]

    public struct Row: Codable, Sendable {
        public var checker: String
        public var anomalies: Int
        public var flagged: Int
        public var controls: Int
        public var falseAlarms: Int
        public var collateral: Int
        public var recall: Double? { anomalies == 0 ? nil : Double(flagged) / Double(anomalies) }
        public var precision: Double? { flagged + falseAlarms == 0 ? nil : Double(flagged) / Double(flagged + falseAlarms) }
    }

    public var rows: [Row] {
        Invariant.allCases.map { invariant in
            let name = invariant.name
            let mine = samples.filter { $0.anomaly?.invariant == invariant }
            let controls = samples.filter { $0.anomaly == nil }
            let others = samples.filter { $0.anomaly != nil && $0.anomaly?.invariant != invariant }
            return Row(
                checker: name, anomalies: mine.count, flagged: mine.filter { $0.fired.contains(name) }.count, controls: controls.count,
                falseAlarms: controls.filter { $0.fired.contains(name) }.count, collateral: others.filter { $0.fired.contains(name) }.count)
        }
    }

    /// Kinds with no place in any source: not measured at all.
    public var unmeasured: [Anomaly] { Anomaly.allCases.filter { kind in !samples.contains { $0.anomaly == kind } } }
    public var misses: [SensitivitySample] { samples.filter { sample in sample.anomaly.map { !sample.fired.contains($0.invariant.name) } ?? false } }
    public var falseAlarms: [SensitivitySample] { samples.filter { $0.anomaly == nil && !$0.fired.isEmpty } }
    public var passed: Bool { misses.isEmpty && falseAlarms.isEmpty && unmeasured.isEmpty }

    public func lines() -> [String] {
        var out = ["checker                    anomalies  flagged  recall  controls  false alarms  precision  collateral"]
        for row in rows {
            let recall = row.recall.map { String(format: "%5.0f%%", $0 * 100) } ?? "     -"
            let precision = row.precision.map { String(format: "%8.0f%%", $0 * 100) } ?? "        -"
            out.append(
                row.checker.padding(toLength: 26, withPad: " ", startingAt: 0)
                    + String(format: " %9d %8d ", row.anomalies, row.flagged) + recall + String(format: " %9d %13d ", row.controls, row.falseAlarms) + precision
                    + String(format: " %11d", row.collateral))
        }
        for kind in unmeasured { out.append("not measured: no source run has a place for \(kind.rawValue)") }
        for miss in misses { out.append("MISSED: \(miss.anomaly!.rawValue) in \(miss.source) at line \(miss.site.map { $0 + 2 } ?? 0) (fired: \(miss.fired.joined(separator: ", ")))") }
        for alarm in falseAlarms { out.append("FALSE ALARM on the clean \(alarm.source): \(alarm.fired.joined(separator: ", "))") }
        out.append(
            passed
                ? "result: PASS, every anomaly flagged by its checker, no flag on \(samples.filter { $0.anomaly == nil }.count) clean controls"
                : "result: FAIL")
        return out
    }
}
