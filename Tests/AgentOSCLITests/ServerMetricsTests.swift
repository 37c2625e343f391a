import Core
import Testing
@testable import Server

struct ServerMetricsTests {
    @Test("a repeated write (a retry or a duplicate delivery) is counted apart from the writes applied, and a repeated claim is no hand-over")
    func repeatedWritesAreCountedApart() {
        let metrics = ServerMetrics()
        let epoch = Epoch(global: 1, regional: 1)
        let claim = WriteKind.claim(region: "region-1", owner: Owner(proxy: "proxy-1-1", incarnation: 1))
        metrics.observe(.write(task: 1, request: claim, epoch: epoch, before: nil, outcome: .applied(current: epoch, repeated: false)))
        metrics.observe(.write(task: 1, request: claim, epoch: epoch, before: epoch, outcome: .applied(current: epoch, repeated: true)))
        metrics.observe(.write(task: 1, request: claim, epoch: epoch, before: epoch, outcome: .applied(current: epoch, repeated: true)))
        let text = metrics.text()
        #expect(metric(text, "agentos_store_writes_applied_total") == 1, "\(text)")
        #expect(metric(text, "agentos_store_writes_repeated_total") == 2)
        #expect(metric(text, "agentos_claims_applied_total") == 1)
    }
}
