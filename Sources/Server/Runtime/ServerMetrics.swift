import Core
import Prometheus

/// The process's metrics, served at `/metrics` in Prometheus text format.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let messages: Counter
    let dropped: Counter
    let writesApplied: Counter
    let writesRejectedStale: Counter
    let writesRejectedOther: Counter
    let ownersFenced: Counter
    let queriesAccepted: Counter
    let queriesRejected: Counter
    let llmCalls: Counter
    let llmErrors: Counter
    let llmLatency: DurationHistogram
    let taskLatency: DurationHistogram

    public init() {
        messages = registry.makeCounter(name: "agentos_messages_sent_total", help: "Role-to-role messages sent")
        dropped = registry.makeCounter(name: "agentos_messages_dropped_total", help: "Messages that could not be delivered")
        writesApplied = registry.makeCounter(name: "agentos_store_writes_applied_total", help: "Store writes applied")
        writesRejectedStale = registry.makeCounter(
            name: "agentos_store_writes_rejected_stale_total", help: "Store writes rejected for a stale epoch (fenced writers)")
        writesRejectedOther = registry.makeCounter(name: "agentos_store_writes_rejected_other_total", help: "Store writes rejected otherwise")
        ownersFenced = registry.makeCounter(name: "agentos_owners_fenced_total", help: "Task owners that stopped after a stale-epoch rejection")
        queriesAccepted = registry.makeCounter(name: "agentos_queries_accepted_total", help: "Client queries acknowledged")
        queriesRejected = registry.makeCounter(name: "agentos_queries_rejected_total", help: "Client queries refused")
        llmCalls = registry.makeCounter(name: "agentos_llm_calls_total", help: "Chat-completions calls made")
        llmErrors = registry.makeCounter(name: "agentos_llm_errors_total", help: "Chat-completions calls that failed")
        let buckets: [Duration] = [.milliseconds(50), .milliseconds(200), .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300)]
        llmLatency = registry.makeDurationHistogram(name: "agentos_llm_latency_seconds", buckets: buckets, help: "Chat-completions latency")
        taskLatency = registry.makeDurationHistogram(
            name: "agentos_task_latency_seconds", buckets: buckets + [.seconds(900)], help: "Submit to final status, as clients saw it")
    }

    /// Queue depth per proxy, from the workload each proxy reports in its heartbeats.
    func observeSend(_ message: CoreMessage, from: Address) {
        messages.increment()
        if case .proxyHeartbeat(let proxy, _, let workload) = message {
            registry.makeGauge(name: "agentos_llm_queue_depth", labels: [("proxy", proxy)]).set(to: Double(workload))
        }
    }

    func observe(_ observation: CoreObservation) {
        switch observation {
        case .write(_, _, _, _, .applied): writesApplied.increment()
        case .write(_, _, _, _, .rejected(_, .staleEpoch)): writesRejectedStale.increment()
        case .write(_, _, _, _, .rejected): writesRejectedOther.increment()
        case .ownerFenced: ownersFenced.increment()
        case .taskAcknowledged: queriesAccepted.increment()
        case .queryRejected: queriesRejected.increment()
        default: break
        }
    }

    public func text() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
