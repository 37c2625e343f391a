import Foundation
import Scenarios

/// One row: the reference's mean and the simulated runs' latency summaries, by seed.
public struct ReproducedRow {
    public let experiment: String
    public let row: String
    public let referenceMean: Double
    public let seeds: [UInt64: LatencySummary]

    public var means: [UInt64: Double] { seeds.mapValues(\.mean) }
    public var simulatedMean: Double { seeds.isEmpty ? 0 : seeds.values.map(\.mean).reduce(0, +) / Double(seeds.count) }
    /// The standard deviation of the per-seed means.
    public var simulatedSpread: Double {
        guard seeds.count > 1 else { return 0 }
        let mean = simulatedMean
        return (seeds.values.map { ($0.mean - mean) * ($0.mean - mean) }.reduce(0, +) / Double(seeds.count - 1)).squareRoot()
    }
    public func average(_ value: KeyPath<LatencySummary, Double>) -> Double {
        seeds.isEmpty ? 0 : seeds.values.map { $0[keyPath: value] }.reduce(0, +) / Double(seeds.count)
    }
}

/// The whole comparison, as printed and as `--json` writes it.
public struct ReproduceReport: Encodable {
    public struct Row: Encodable {
        public let experiment: String
        public let row: String
        public let baseline: Bool
        /// The model was fitted to this row (in-sample): not counted.
        public let fitted: Bool
        /// The reference's run did not run what the row says: not counted.
        public let confounded: Bool
        public let referenceMean: Double
        public let simulatedMean: Double
        public let simulatedSpread: Double
        public let simulatedP50: Double
        public let simulatedP99: Double
        public let simulatedMax: Double
        public let referenceRatio: Double
        public let simulatedRatio: Double
        /// The paired bootstrap's 95 % interval of the simulated ratio (nil below two seeds).
        public let simulatedRatioLow: Double?
        public let simulatedRatioHigh: Double?
        /// simulatedRatio / referenceRatio - 1 (0 for a baseline row).
        public let ratioError: Double

        public var counted: Bool { !baseline && !fitted && !confounded }
        public var withinTolerance: Bool { abs(ratioError) <= ReproduceRun.tolerance }
        /// Whether the reference's ratio lies inside the simulated interval.
        public var referenceInInterval: Bool? {
            guard let low = simulatedRatioLow, let high = simulatedRatioHigh else { return nil }
            return (low...high).contains(referenceRatio)
        }
    }

    /// One pair of rows the reference separates by more than 10 %, as the simulation judges it.
    public struct Ordering: Encodable {
        public enum Verdict: String, Encodable {
            /// The simulated interval of slower / faster lies above 1.
            case reproduced
            /// The interval holds 1: the simulation cannot tell the two apart.
            case unresolved
            /// The interval lies below 1: the simulation ranks them the other way.
            case reversed
        }
        public let slower: String
        public let faster: String
        public let low: Double
        public let high: Double
        public let verdict: Verdict
    }

    public struct Table: Encodable {
        public let experiment: String
        public let title: String
        public let caveats: [String]
        public let predictions: Bool
        public let rows: [Row]
        public let orderings: [Ordering]
        /// Every pair the reference separates by more than 10 % is reproduced (true when
        /// there is no such pair).
        public let orderingReproduced: Bool
    }

    public struct Count: Encodable {
        /// Counted rows (not baseline, fitted or confounded) within 15 % of the reference.
        public var withinTolerance = 0
        /// Counted rows whose interval holds the reference's ratio.
        public var referenceInInterval = 0
        public var rows = 0
    }

    public let seeds: Int
    public var start: UInt64 = 1
    public let rows: [Row]
    public let tables: [Table]
    /// The published tables' counted rows.
    public let published: Count
    /// The predictions' counted rows.
    public let predicted: Count
    public let failures: [String]

    public init(experiments: [Experiment], rows reproduced: [ReproducedRow], seeds: Int, failures: [String]) {
        var tables: [Table] = []
        for experiment in experiments {
            let mine = reproduced.filter { $0.experiment == experiment.experiment }
            guard let base = mine.first(where: { $0.row == experiment.baseline }) else { continue }
            let rows = mine.map { row -> Row in
                let settings = experiment.rows.first { $0.row == row.row }
                let referenceRatio = row.referenceMean / base.referenceMean
                let simulatedRatio = base.simulatedMean > 0 ? row.simulatedMean / base.simulatedMean : 0
                let interval = PairedBootstrap.ratioInterval(row.means, over: base.means)
                let isBaseline = row.row == experiment.baseline
                return Row(
                    experiment: row.experiment, row: row.row, baseline: isBaseline, fitted: settings?.fitted ?? false,
                    confounded: settings?.confounded ?? false, referenceMean: row.referenceMean, simulatedMean: row.simulatedMean,
                    simulatedSpread: row.simulatedSpread, simulatedP50: row.average(\.p50), simulatedP99: row.average(\.p99),
                    simulatedMax: row.average(\.max), referenceRatio: referenceRatio, simulatedRatio: simulatedRatio,
                    simulatedRatioLow: isBaseline ? nil : interval?.lowerBound, simulatedRatioHigh: isBaseline ? nil : interval?.upperBound,
                    ratioError: isBaseline ? 0 : simulatedRatio / referenceRatio - 1)
            }
            let orderings = Self.orderings(mine, confounded: Set(rows.filter(\.confounded).map(\.row)))
            tables.append(
                Table(
                    experiment: experiment.experiment, title: experiment.title, caveats: experiment.caveats, predictions: experiment.predictions,
                    rows: rows, orderings: orderings, orderingReproduced: orderings.allSatisfy { $0.verdict == .reproduced }))
        }
        self.seeds = seeds
        self.tables = tables
        rows = tables.flatMap(\.rows)
        func count(_ tables: [Table]) -> Count {
            let counted = tables.flatMap(\.rows).filter(\.counted)
            return Count(
                withinTolerance: counted.filter(\.withinTolerance).count, referenceInInterval: counted.filter { $0.referenceInInterval == true }.count,
                rows: counted.count)
        }
        published = count(tables.filter { !$0.predictions })
        predicted = count(tables.filter(\.predictions))
        self.failures = failures
    }

    /// Every pair of rows the reference separates by more than 10 % (beyond its noise),
    /// judged by the paired bootstrap interval of the simulated slower / faster ratio.
    public static func orderings(_ rows: [ReproducedRow], confounded: Set<String>) -> [Ordering] {
        var result: [Ordering] = []
        for slower in rows where !confounded.contains(slower.row) {
            for faster in rows where !confounded.contains(faster.row) && slower.referenceMean > faster.referenceMean * 1.1 {
                guard let interval = PairedBootstrap.ratioInterval(slower.means, over: faster.means) else { continue }
                let verdict: Ordering.Verdict = interval.lowerBound > 1 ? .reproduced : interval.upperBound < 1 ? .reversed : .unresolved
                result.append(Ordering(slower: slower.row, faster: faster.row, low: interval.lowerBound, high: interval.upperBound, verdict: verdict))
            }
        }
        return result
    }

    public func print() {
        Swift.print("agentos reproduce: the reference system's published experiments, \(seeds) seed(s) per row from seed \(start)")
        Swift.print("intervals: 95 % paired bootstrap over seeds (\(PairedBootstrap.resamples) resamples); error: simulated ratio / reference ratio - 1")
        let published = tables.filter { !$0.predictions }, predictions = tables.filter(\.predictions)
        for table in published { printTable(table) }
        if !predictions.isEmpty {
            Swift.print("")
            Swift.print("PREDICTIONS: reference runs that no published table uses, simulated with the same model, no parameter changed")
            for table in predictions { printTable(table) }
        }
        Swift.print("")
        func line(_ count: Count, _ what: String) {
            Swift.print(
                "\(what): \(count.withinTolerance) of \(count.rows) ratios within \(Int(ReproduceRun.tolerance * 100)) % of the reference's "
                    + "('!' marks a miss); the reference's ratio inside the simulated 95 % interval: \(count.referenceInInterval) of \(count.rows)")
        }
        if !published.isEmpty { line(self.published, "published tables (fitted and confounded rows not counted)") }
        if !predictions.isEmpty { line(predicted, "predictions") }
        if failures.isEmpty {
            Swift.print("checks: every run passed every checker")
        } else {
            Swift.print("checks: \(failures.count) run(s) FAILED")
            for failure in failures.prefix(10) { Swift.print("  \(failure)") }
        }
    }

    private func printTable(_ table: Table) {
        Swift.print("")
        Swift.print("\(table.experiment): \(table.title)")
        Swift.print(
            pad("row", 18) + pad("reference", 10, left: true) + pad("simulated", 18, left: true) + pad("ref ratio", 11, left: true)
                + pad("sim ratio [95 % CI]", 24, left: true) + pad("error", 8, left: true) + "  note")
        for row in table.rows {
            let simulated = String(format: "%.1f ± %.1f s", row.simulatedMean, row.simulatedSpread)
            var ratio = String(format: "%.2f", row.simulatedRatio)
            if let low = row.simulatedRatioLow, let high = row.simulatedRatioHigh { ratio += String(format: " [%.2f, %.2f]", low, high) }
            let error = row.baseline ? "base" : String(format: "%+.0f %%", row.ratioError * 100) + (row.withinTolerance ? "" : " !")
            var notes: [String] = []
            if row.fitted { notes.append("fitted (in-sample)") }
            if row.confounded { notes.append("confounded") }
            if !row.baseline, let inside = row.referenceInInterval { notes.append(inside ? "ref in CI" : "ref outside CI") }
            Swift.print(
                pad(row.row, 18) + pad(String(format: "%.1f s", row.referenceMean), 10, left: true) + pad(simulated, 18, left: true)
                    + pad(String(format: "%.2f", row.referenceRatio), 11, left: true) + pad(ratio, 24, left: true) + pad(error, 8, left: true)
                    + (notes.isEmpty ? "" : "  " + notes.joined(separator: ", ")))
        }
        if table.orderings.isEmpty {
            Swift.print("  ordering: the reference separates no two rows by more than 10 %: nothing to rank")
        } else {
            let reproduced = table.orderings.filter { $0.verdict == .reproduced }.count
            Swift.print("  ordering (pairs the reference separates by more than 10 %): \(reproduced) of \(table.orderings.count) reproduced")
            for pair in table.orderings where pair.verdict != .reproduced {
                Swift.print("    \(pair.slower) over \(pair.faster): simulated ratio in " + String(format: "[%.2f, %.2f]", pair.low, pair.high) + ": \(pair.verdict.rawValue)")
            }
        }
        for caveat in table.caveats { Swift.print("  caveat: \(caveat)") }
    }

    private func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return left ? padding + text : text + padding
    }
}
