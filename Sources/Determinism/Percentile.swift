/// The one percentile the project reports: nearest rank. The p-th percentile of n sorted
/// values is the value at rank ceil(n * p / 100), so it is always a value that was observed,
/// and the same run prints the same figure wherever it is computed (run report, latency
/// checker, load client, benchmarks).
public enum Percentile {
    /// The index into a sorted array of `count` values (count >= 1) of its p-th percentile.
    public static func nearestRankIndex(_ percent: Int, count: Int) -> Int {
        precondition(count >= 1 && (0...100).contains(percent), "percentile \(percent) of \(count) values")
        return min(count - 1, max(0, (count * percent + 99) / 100 - 1))
    }

    /// The p-th percentile of `sorted` (ascending); nil when it is empty.
    public static func nearestRank<Value>(_ percent: Int, of sorted: [Value]) -> Value? {
        sorted.isEmpty ? nil : sorted[nearestRankIndex(percent, count: sorted.count)]
    }
}
