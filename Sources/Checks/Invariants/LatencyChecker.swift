import Core
import Determinism

/// 13. The scenario's latency budget: the mean, the p99 and the maximum of client-observed
/// task latency (first submit to the final status the client saw), in virtual time.
public struct LatencyChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.latency
    public private(set) var violations: [Violation] = []
    let budget: LatencyBudget?
    var latencies: [(latency: Interval, task: TaskID, event: ObservedEvent)] = []

    public init(budget: LatencyBudget?) { self.budget = budget }

    public mutating func observe(_ event: ObservedEvent) {
        if case .client(.finished(let task, let latency, _)) = event.observation { latencies.append((latency, task, event)) }
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: Instant) {
        guard let budget, !latencies.isEmpty else { return }
        let sorted = latencies.sorted { ($0.latency, $0.task) < ($1.latency, $1.task) }
        let worst = sorted.last!
        if let limit = budget.max, worst.latency > limit {
            violations.append(Violation(
                invariant: invariant, task: worst.task, node: nil, time: worst.event.time,
                detail: "task latency max \(worst.latency) is over the budget of \(limit)", events: [worst.event.summary]))
        }
        let mean = sorted.map(\.latency).reduce(.zero, +) / Int64(sorted.count)
        if let limit = budget.mean, mean > limit {
            violations.append(Violation(
                invariant: invariant, task: nil, node: nil, time: end,
                detail: "mean task latency \(mean) over \(sorted.count) task(s) is over the budget of \(limit)",
                events: [worst.event.summary]))
        }
        if let floor = budget.meanMin, mean < floor {
            violations.append(Violation(
                invariant: invariant, task: nil, node: nil, time: end,
                detail: "mean task latency \(mean) over \(sorted.count) task(s) is under the calibrated band's floor of \(floor)",
                events: [sorted.first!.event.summary]))
        }
        let p50 = sorted[Percentile.nearestRankIndex(50, count: sorted.count)]
        if let floor = budget.p50Min, p50.latency < floor {
            violations.append(Violation(
                invariant: invariant, task: p50.task, node: nil, time: p50.event.time,
                detail: "median task latency \(p50.latency) over \(sorted.count) task(s) is under the calibrated band's floor of \(floor)",
                events: [p50.event.summary]))
        }
        let p99 = sorted[Percentile.nearestRankIndex(99, count: sorted.count)]
        if let limit = budget.p99, p99.latency > limit {
            violations.append(Violation(
                invariant: invariant, task: p99.task, node: nil, time: p99.event.time,
                detail: "task latency p99 \(p99.latency) over \(sorted.count) task(s) is over the budget of \(limit)",
                events: [p99.event.summary]))
        }
    }


    public var evidence: String {
        guard let budget else { return "\(latencies.count) latencies; the scenario sets no budget" }
        let max = latencies.map(\.latency).max().map { "\($0)" } ?? "-"
        let mean = latencies.isEmpty ? "-" : "\(latencies.map(\.latency).reduce(.zero, +) / Int64(latencies.count))"
        let bound = { (value: Interval?) in value.map { "\($0)" } ?? "-" }
        var text = "\(latencies.count) latencies, mean \(mean), max \(max); budget mean \(bound(budget.mean)), p99 \(bound(budget.p99)), max \(bound(budget.max))"
        if budget.meanMin != nil || budget.p50Min != nil { text += "; floor mean \(bound(budget.meanMin)), p50 \(bound(budget.p50Min))" }
        return text
    }
}

extension LatencyChecker: RegisteredChecker {
    public static let name = "latency"
    public static let needsLiveness = true

    public init(context: CheckContext) { self.init(budget: context.latencyBudget) }
}
