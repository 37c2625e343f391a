import Core
import Prometheus

/// The process's metrics, served at `/metrics` in Prometheus text format.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let messages: Counter
    let writesApplied: Counter
    let writesRepeated: Counter
    let writesRejectedStale: Counter
    let writesRejectedOther: Counter
    let ownersFenced: Counter
    let queriesAccepted: Counter
    let queriesRejected: Counter
    let llmCalls: Counter
    let llmErrors: Counter
    let llmLatency: DurationHistogram
    let taskLatency: DurationHistogram
    let rolePlaneRefused: Counter
    let queriesRefusedBusy: Counter
    let staleHeartbeatsIgnored: Counter
    let claimsWritten: Counter
    let storeRequestsFailed: Counter

    public init() {
        messages = registry.makeCounter(name: "agentos_messages_sent_total", help: "Role-to-role messages sent")
        writesApplied = registry.makeCounter(name: "agentos_store_writes_applied_total", help: "Store writes applied (a repeat of an applied write not counted)")
        writesRepeated = registry.makeCounter(
            name: "agentos_store_writes_repeated_total", help: "Writes that repeated one already applied (a retry or a duplicate delivery): answered, changing nothing")
        writesRejectedStale = registry.makeCounter(
            name: "agentos_store_writes_rejected_stale_total", help: "Store writes rejected for a stale epoch (fenced writers)")
        writesRejectedOther = registry.makeCounter(name: "agentos_store_writes_rejected_other_total", help: "Store writes rejected otherwise")
        ownersFenced = registry.makeCounter(name: "agentos_owners_fenced_total", help: "Task owners that stopped after a stale-epoch rejection")
        queriesAccepted = registry.makeCounter(name: "agentos_queries_accepted_total", help: "Client queries acknowledged")
        queriesRejected = registry.makeCounter(name: "agentos_queries_rejected_total", help: "Client queries refused")
        rolePlaneRefused = registry.makeCounter(name: "agentos_role_plane_refused_total", help: "Role-plane requests refused for a missing or bad signature")
        queriesRefusedBusy = registry.makeCounter(
            name: "agentos_queries_refused_busy_total", help: "Client queries refused by admission control (503, nothing created)")
        staleHeartbeatsIgnored = registry.makeCounter(
            name: "agentos_stale_heartbeats_ignored_total", help: "Proxy heartbeats a region ignored: of an earlier life, or older than one already heard (delayed, duplicated, replayed)")
        claimsWritten = registry.makeCounter(
            name: "agentos_claims_applied_total", help: "Ownership claims the store applied (a hand-over each; a rise without evictions or restarts is a re-claim no fault justified)")
        storeRequestsFailed = registry.makeCounter(
            name: "agentos_store_requests_failed_total", help: "Store requests the store could not execute (a full disk, an unreachable database); the requester retries")
        llmCalls = registry.makeCounter(name: "agentos_llm_calls_total", help: "Chat-completions calls made")
        llmErrors = registry.makeCounter(name: "agentos_llm_errors_total", help: "Chat-completions calls that failed")
        let buckets: [Duration] = [.milliseconds(50), .milliseconds(200), .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300)]
        llmLatency = registry.makeDurationHistogram(name: "agentos_llm_latency_seconds", buckets: buckets, help: "Chat-completions latency")
        taskLatency = registry.makeDurationHistogram(
            name: "agentos_task_latency_seconds", buckets: buckets + [.seconds(900)], help: "Submit to final status, as clients saw it")
    }

    /// A message lost on its way: `link_full` (the queue to a peer process was full),
    /// `peer_unreachable` (the peer did not take a batch), `mailbox_full` (a role's mailbox was
    /// full), `no_route` (no URL for the address).
    func dropped(reason: String, count: Int = 1) {
        registry.makeCounter(name: "agentos_messages_dropped_total", labels: [("reason", reason)], help: "Messages that could not be delivered")
            .increment(by: Int64(count))
    }

    /// Calls made to one LLM endpoint of the cluster (`llm-1`, ...).
    func endpointCalls(_ endpoint: String) -> Counter {
        registry.makeCounter(name: "agentos_llm_endpoint_calls_total", labels: [("endpoint", endpoint)])
    }

    /// Queue depth per proxy, from the workload each proxy reports in its heartbeats.
    func observeSend(_ message: CoreMessage, from: Address) {
        messages.increment()
        if case .storeReply(_, .failed) = message { storeRequestsFailed.increment() }
        if case .proxyHeartbeat(let proxy, _, _, let workload) = message {
            registry.makeGauge(name: "agentos_llm_queue_depth", labels: [("proxy", proxy.name)]).set(to: Double(workload))
        }
    }

    func observe(_ observation: CoreObservation) {
        switch observation {
        case .write(_, _, _, _, .applied(_, repeated: true)):
            writesRepeated.increment()
        case .write(_, let kind, _, _, .applied):
            writesApplied.increment()
            if case .claim = kind { claimsWritten.increment() }
        case .write(_, _, _, _, .rejected(_, .staleEpoch)): writesRejectedStale.increment()
        case .write(_, _, _, _, .rejected): writesRejectedOther.increment()
        case .ownerFenced: ownersFenced.increment()
        case .taskAcknowledged: queriesAccepted.increment()
        case .queryRejected: queriesRejected.increment()
        case .admissionRefused: queriesRefusedBusy.increment()
        case .staleHeartbeatIgnored: staleHeartbeatsIgnored.increment()
        default: break
        }
    }

    public func text() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
