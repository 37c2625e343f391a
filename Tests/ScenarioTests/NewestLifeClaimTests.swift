import Checks
import Core
@testable import Scenarios
import Sim
import Testing

@Suite("16: newest-life claims")
struct NewestLifeClaimTests {
    /// Feeds a hand-made history of heartbeats and claims to the checker.
    struct History {
        var checker = NewestLifeClaimChecker()
        var index: UInt64 = 0

        mutating func feed(_ fact: MessageEvent.Fact) {
            index += 1
            checker.observeMessage(MessageEvent(index: index, time: Instant(nanoseconds: Int64(index)), fact: fact))
        }

        mutating func heartbeat(id: UInt64, life: UInt32, sequence: UInt64, delivered: Bool = true) {
            feed(.sent(id: id, from: "proxy-1-1", to: "region-1", .proxyHeartbeat(proxy: "proxy-1-1", incarnation: life, sequence: sequence, workload: 0)))
            if delivered { feed(.delivered(id: id, to: "region-1")) }
        }

        mutating func claim(id: UInt64, request: UInt64, life: UInt32) {
            let owner = Owner(proxy: "proxy-1-1", incarnation: life)
            feed(.sent(id: id, from: "region-1", to: "store", .storeRequest(requestID: request, .claim(3, epoch: Epoch(global: 1, regional: 2), region: "region-1", owner: owner))))
        }
    }

    @Test("a claim for a life older than one the region heard from fails; one made before hearing it, its retry, or after the region restarted passes")
    func handMadeHistories() {
        var failing = History()
        failing.heartbeat(id: 1, life: 2, sequence: 1)
        failing.heartbeat(id: 2, life: 1, sequence: 30)  // the dead life's delayed heartbeat
        failing.claim(id: 3, request: 10, life: 1)
        #expect(failing.checker.violations.count == 1)
        #expect(failing.checker.violations.first?.detail.contains("later life 2") == true, "\(failing.checker.violations)")

        var passing = History()
        passing.heartbeat(id: 1, life: 1, sequence: 1)
        passing.claim(id: 2, request: 10, life: 1)  // decided before life 2 was heard
        passing.heartbeat(id: 3, life: 2, sequence: 1)
        passing.claim(id: 4, request: 10, life: 1)  // the same request again: a retry
        passing.heartbeat(id: 5, life: 3, sequence: 1, delivered: false)  // never arrived: not heard
        passing.claim(id: 6, request: 11, life: 2)
        passing.feed(.started(node: "region-1", incarnation: 2))  // a restarted region forgets whom it heard
        passing.heartbeat(id: 7, life: 1, sequence: 2)
        passing.claim(id: 8, request: 1, life: 1)
        #expect(passing.checker.violations.isEmpty, "\(passing.checker.violations)")
        #expect(passing.checker.evidence.contains("3 claim(s)"), "\(passing.checker.evidence)")
    }

    @Test("stale-heartbeats: every seed has old heartbeats ignored, no claim for a dead life, and passes")
    func staleHeartbeatsScenario() throws {
        for seed in UInt64(1)...8 {
            let summary = try ScenarioRun(scenario: ScenarioLibrary.staleHeartbeats, seed: seed).execute()
            #expect(summary.passed, "seed \(seed): \(summary.violations)")
            let verdict = try #require(summary.checks.first { $0.invariant == Invariant.newestLifeClaims.rawValue })
            #expect(!verdict.evidence.hasSuffix(" 0 stale heartbeat(s) ignored"), "seed \(seed): \(verdict.evidence)")
        }
    }
}
