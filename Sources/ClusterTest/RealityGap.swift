import Checks
import Determinism
import Foundation
import Scenarios
import Server

/// `cluster-test --compare-sim`: the same run on real processes and in the simulator (its
/// recording replayed, `RealRunReplay`), side by side: each checker's verdict, the latency
/// distributions, the throughput, and how long each fault took to recover from. Every time is
/// in the cluster's clock (real seconds times the speedup), the simulator's virtual clock.
///
/// One number sums it up, the reality gap: the mean of four differences, each capped at 1 (the
/// relative difference of the mean latencies, of the medians, of the throughputs, and the
/// Kolmogorov-Smirnov distance between the two latency distributions), or 1 when a checker
/// disagrees. The two agree when the gap is at most `threshold` and the means are within it.
public struct RealityGapReport: Encodable, Sendable {
    public struct Side: Encodable, Sendable {
        public var passed: Bool
        public var failedChecks: [String]
        public var tasksSeenFinal: Int
        public var meanSeconds: Double?
        public var p50Seconds: Double?
        public var p99Seconds: Double?
        /// Tasks seen final per minute, from the first submit to the last task seen final.
        public var throughputPerMinute: Double?
        /// For each fault, seconds from its end to the first task seen final after it (nil:
        /// none after it).
        public var recoverySeconds: [Double?]
    }

    public struct CheckRow: Encodable, Sendable {
        public var invariant: Int
        public var name: String
        public var real: String
        public var simulated: String
    }

    public var real: Side
    public var simulated: Side
    public var checks: [CheckRow]
    /// Every checker that ran on both sides gave the same verdict.
    public var sameVerdicts: Bool
    public var meanDifference: Double?
    public var p50Difference: Double?
    public var p99Difference: Double?
    public var ksDistance: Double?
    public var throughputDifference: Double?
    /// The faults, in a line each, in the order of `recoverySeconds`.
    public var faults: [String]
    public var gap: Double
    public var threshold: Double
    public var agree: Bool

    public static let thresholdDefault = 0.25

    /// Compares the recorded run in `directory` (judged as `realChecks`) with its replay.
    public static func compare(
        recording directory: String, realChecks: [CheckVerdict], replay: RealRunReplay, simulated run: ScenarioRun, report: RunReport,
        threshold: Double = thresholdDefault
    ) throws -> RealityGapReport {
        let facts = replay.facts
        let speedup = Double(facts.speedup)
        func clusterSeconds(wall: Int64) -> Double { Double(wall - facts.start) / 1e9 * speedup }

        // The real side, from the clients' history.
        var latencies: [Double] = []
        var finishes: [Double] = []
        var firstSubmit = Double.infinity
        for line in try RealRunReplay.lines((directory as NSString).appendingPathComponent(ClusterUnderTest.clientsFileName)) {
            guard let entry = try? JSONDecoder().decode(ClientRecorder.Entry.self, from: line) else { continue }
            switch entry.observation {
            case .submitted: firstSubmit = min(firstSubmit, clusterSeconds(wall: entry.time))
            case .finished(_, let latency, _):
                latencies.append(Double(latency.nanoseconds) / 1e9)
                finishes.append(clusterSeconds(wall: entry.time))
            default: break
            }
        }
        let faultRecords = try RealRunReplay.faultRecords((directory as NSString).appendingPathComponent(ClusterRecording.faultsFileName))
        let faultEnds = faultRecords.map { ($0.atSeconds + $0.seconds) * speedup }
        let realFailed = realChecks.filter { $0.ran && !$0.passed }.map(\.name)
        let real = side(
            passed: realFailed.isEmpty && replay.summary.converged, failed: realFailed, latencies: latencies, finishes: finishes, firstSubmit: firstSubmit,
            faultEnds: faultEnds)

        // The simulated side.
        let simulatedFirstSubmit = Double(replay.scenario.workload.recorded?.map(\.atMillis).min() ?? 0) / 1000
        let simulatedFailed = report.checks.filter { $0.ran && !$0.passed }.map(\.name)
        let simulated = side(
            passed: report.passed, failed: simulatedFailed, latencies: run.latencies.map { Double($0) / 1e9 },
            finishes: run.finishTimes.map { Double($0) / 1e9 },
            firstSubmit: simulatedFirstSubmit, faultEnds: faultEnds)

        var rows: [CheckRow] = []
        var same = true
        for check in realChecks {
            let other = report.checks.first { $0.invariant == check.invariant }
            func verdict(_ check: CheckVerdict?) -> String { check.map { $0.ran ? ($0.passed ? "pass" : "FAIL") : "skip" } ?? "n/a" }
            rows.append(CheckRow(invariant: check.invariant, name: check.name, real: verdict(check), simulated: verdict(other)))
            if let other, check.ran, other.ran, check.passed != other.passed { same = false }
        }
        func difference(_ a: Double?, _ b: Double?) -> Double? {
            guard let a, let b, a > 0 else { return nil }
            return abs(b - a) / a
        }
        let meanDifference = difference(real.meanSeconds, simulated.meanSeconds)
        let p50Difference = difference(real.p50Seconds, simulated.p50Seconds)
        let throughputDifference = difference(real.throughputPerMinute, simulated.throughputPerMinute)
        let ks = latencies.isEmpty || run.latencies.isEmpty ? nil : ksDistance(latencies, run.latencies.map { Double($0) / 1e9 })
        let parts = [meanDifference, p50Difference, throughputDifference, ks].map { min(1, $0 ?? 1) }
        let gap = same ? parts.reduce(0, +) / Double(parts.count) : 1
        return RealityGapReport(
            real: real, simulated: simulated, checks: rows, sameVerdicts: same, meanDifference: meanDifference, p50Difference: p50Difference,
            p99Difference: difference(real.p99Seconds, simulated.p99Seconds), ksDistance: ks, throughputDifference: throughputDifference,
            faults: faultRecords.map { String(format: "t=%.1fs %@ for %.1fs", $0.atSeconds, $0.kind, $0.seconds) }, gap: gap, threshold: threshold,
            agree: same && gap <= threshold && (meanDifference ?? 1) <= threshold)
    }

    static func side(passed: Bool, failed: [String], latencies: [Double], finishes: [Double], firstSubmit: Double, faultEnds: [Double]) -> Side {
        let sorted = latencies.sorted()
        let last = finishes.max()
        let minutes = last.map { ($0 - firstSubmit) / 60 } ?? 0
        return Side(
            passed: passed, failedChecks: failed, tasksSeenFinal: latencies.count,
            meanSeconds: sorted.isEmpty ? nil : sorted.reduce(0, +) / Double(sorted.count),
            p50Seconds: Percentile.nearestRank(50, of: sorted), p99Seconds: Percentile.nearestRank(99, of: sorted),
            throughputPerMinute: minutes > 0 ? Double(latencies.count) / minutes : nil,
            recoverySeconds: faultEnds.map { end in finishes.filter { $0 >= end }.min().map { $0 - end } })
    }

    /// The Kolmogorov-Smirnov statistic: the largest gap between the two empirical distributions.
    static func ksDistance(_ a: [Double], _ b: [Double]) -> Double {
        let x = a.sorted()
        let y = b.sorted()
        var i = 0
        var j = 0
        var distance = 0.0
        while i < x.count, j < y.count {
            let value = min(x[i], y[j])
            while i < x.count, x[i] <= value { i += 1 }
            while j < y.count, y[j] <= value { j += 1 }
            distance = max(distance, abs(Double(i) / Double(x.count) - Double(j) / Double(y.count)))
        }
        return distance
    }

    /// The comparison as a table, for the terminal.
    public var lines: [String] {
        func seconds(_ value: Double?) -> String { value.map { String(format: "%7.1f s", $0) } ?? "      n/a" }
        func percent(_ value: Double?) -> String { value.map { String(format: "%5.1f %%", $0 * 100) } ?? "  n/a" }
        var lines = ["reality gap: the real cluster and its replay in the simulator (cluster clock: real seconds x speedup)"]
        lines.append("  checker                    real   simulated")
        for row in checks {
            lines.append(
                "  " + "\(row.invariant) \(row.name)".padding(toLength: 26, withPad: " ", startingAt: 0) + " "
                    + row.real.padding(toLength: 6, withPad: " ", startingAt: 0) + " " + row.simulated)
        }
        lines.append("                             real       simulated  difference")
        lines.append("  tasks seen final         \(String(format: "%9d", real.tasksSeenFinal))  \(String(format: "%9d", simulated.tasksSeenFinal))")
        lines.append("  latency mean             \(seconds(real.meanSeconds))  \(seconds(simulated.meanSeconds))  \(percent(meanDifference))")
        lines.append("  latency p50              \(seconds(real.p50Seconds))  \(seconds(simulated.p50Seconds))  \(percent(p50Difference))")
        lines.append("  latency p99              \(seconds(real.p99Seconds))  \(seconds(simulated.p99Seconds))  \(percent(p99Difference))")
        lines.append(
            "  throughput (tasks/min)   \(real.throughputPerMinute.map { String(format: "%9.1f", $0) } ?? "      n/a")  \(simulated.throughputPerMinute.map { String(format: "%9.1f", $0) } ?? "      n/a")  \(percent(throughputDifference))"
        )
        lines.append("  latency distributions: Kolmogorov-Smirnov distance \(ksDistance.map { String(format: "%.2f", $0) } ?? "n/a")")
        for (index, fault) in faults.enumerated() {
            lines.append("  recovery after \(fault): real \(seconds(real.recoverySeconds[index])), simulated \(seconds(simulated.recoverySeconds[index]))")
        }
        lines.append(
            String(
                format:
                    "  gap %.2f (threshold %.2f; the mean of the mean, median and throughput differences and the KS distance, 1 if a checker disagrees): %@",
                gap,
                threshold, agree ? "agree" : "DISAGREE"))
        return lines
    }
}
