import Foundation

/// Shards of one sweep (on a cluster, a CI matrix, several machines) merged into one verdict,
/// after checking that they cover their seed range exactly once: a seed run twice or never is
/// an error, not a pass.
public enum ShardMerge {
    /// Above this many seeds the coverage check would need too much memory for its bit set.
    public static let rangeMax: UInt64 = 1 << 33

    /// The merged verdict of the shards' summaries (they must share one scenario).
    public static func merge(_ shards: [(file: String, summary: ExploreSummary)]) throws -> MergedSummary {
        let scenarios = Set(shards.map(\.summary.scenario))
        guard scenarios.count == 1 else { throw CampaignError("the shards explore different scenarios: \(scenarios.sorted().joined(separator: ", "))") }
        if let guided = shards.first(where: { $0.summary.guided != nil }) {
            throw CampaignError("'\(guided.file)' is a guided search: one search, not a shard of a seed range, so it is not merged")
        }
        let coverage = try coverage(shards)
        return MergedSummary(
            scenario: shards[0].summary.scenario, start: coverage.start, seeds: coverage.count, shards: shards.count,
            passed: shards.map(\.summary.passed).reduce(0, +), failed: shards.map(\.summary.failed).reduce(0, +),
            crashed: shards.map(\.summary.crashed).reduce(0, +),
            byInvariant: mergeCounts(shards.flatMap(\.summary.byInvariant)), failing: shards.flatMap(\.summary.failing).sorted(),
            traces: shards.flatMap(\.summary.traces), cpuSeconds: shards.map(\.summary.wallSeconds).reduce(0, +),
            marks: shards.allSatisfy { $0.summary.marks != nil } ? MarkCoverage(merging: shards.compactMap(\.summary.marks)) : nil)
    }

    /// The seeds the shards claim, checked to be one contiguous range covered exactly once.
    public static func coverage(_ shards: [(file: String, summary: ExploreSummary)]) throws -> (start: UInt64, count: UInt64) {
        for (file, summary) in shards {
            guard summary.shardCount >= 1, (0..<summary.shardCount).contains(summary.shardIndex) else {
                throw CampaignError("'\(file)': shard \(summary.shardIndex)/\(summary.shardCount) is not a shard")
            }
            let expected = Self.seedCount(summary)
            guard UInt64(summary.seeds) == expected else {
                throw CampaignError("'\(file)': shard \(summary.shardIndex)/\(summary.shardCount) reports \(summary.seeds) seed(s) but covers \(expected): an incomplete run")
            }
        }
        let low = shards.map(\.summary.start).min()!
        let high = shards.map { $0.summary.start + $0.summary.rangeSeeds }.max()!
        guard high - low <= rangeMax else { throw CampaignError("the shards span \(high - low) seeds; merge at most \(rangeMax) at once") }
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
            throw CampaignError("overlapping shards: \(named)\(overlaps.count == 5 ? ", ..." : "")")
        }
        var missing: [UInt64] = []
        var missingCount: UInt64 = 0
        for bit in 0..<(high - low) where covered[Int(bit / 64)] & (UInt64(1) << (bit % 64)) == 0 {
            missingCount += 1
            if missing.count < 5 { missing.append(low + bit) }
        }
        if missingCount > 0 {
            throw CampaignError(
                "missing shards: \(missingCount) seed(s) of \(low)..<\(high) were never run, e.g. \(missing.map(String.init).joined(separator: ", ")) "
                    + "(each shard I/K covers the seeds whose offset mod K is I: is a shard's file absent?)")
        }
        return (low, high - low)
    }

    /// How many seeds shard I of K covers among `rangeSeeds`.
    public static func seedCount(_ summary: ExploreSummary) -> UInt64 {
        let count = UInt64(summary.shardCount), index = UInt64(summary.shardIndex)
        return summary.rangeSeeds / count + (summary.rangeSeeds % count > index ? 1 : 0)
    }

    /// "7:2" counts added up by invariant.
    public static func mergeCounts(_ entries: [String]) -> [String] {
        var totals: [Int: Int] = [:]
        for entry in entries {
            let parts = entry.split(separator: ":").compactMap { Int($0) }
            if parts.count == 2 { totals[parts[0], default: 0] += parts[1] }
        }
        return totals.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
    }
}

public struct MergedSummary: Encodable, Sendable {
    public let scenario: String
    public let start: UInt64
    public let seeds: UInt64
    public let shards: Int
    public let passed: Int
    public let failed: Int
    public let crashed: Int
    public let byInvariant: [String]
    public let failing: [UInt64]
    public let traces: [String]
    /// The shards' wall times added up: what the sweep cost in machine time.
    public let cpuSeconds: Double
    /// The shards' mark coverage added up (nil if a shard's summary has none).
    public let marks: MarkCoverage?

    public func print() {
        Swift.print("explore-merge: \(scenario), seeds \(start)..<\(start + seeds) in \(shards) shard(s), each seed run exactly once")
        Swift.print("passed \(passed), failed \(failed), crashed \(crashed); \(String(format: "%.0f", cpuSeconds)) s of shard wall time in all")
        if !byInvariant.isEmpty { Swift.print("violations by invariant: \(byInvariant.joined(separator: ", "))") }
        if !failing.isEmpty {
            Swift.print("failing seeds: \(failing.prefix(20).map(String.init).joined(separator: ", "))\(failing.count > 20 ? ", ..." : "")")
            Swift.print("rerun one: agentos run --scenario \(scenario) --seed SEED")
        }
        for trace in traces { Swift.print("trace (on the shard's machine): \(trace)") }
        if let marks { for line in marks.lines() { Swift.print(line) } }
        Swift.print(failed + crashed == 0 ? "result: PASS" : "result: FAIL")
    }
}
