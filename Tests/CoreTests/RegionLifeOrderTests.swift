import Core
import Testing

/// The region orders each proxy's lives and heartbeats, so nothing delayed, duplicated or
/// replayed from a life that is over makes it act (issue: replayed heartbeats).
struct RegionLifeOrderTests {
    let context = CoreContext(now: .nanoseconds(0), address: "region-1", incarnation: 1)

    func heartbeat(_ incarnation: UInt32, _ sequence: UInt64) -> CoreInput {
        .message(from: "proxy-1-1", .proxyHeartbeat(proxy: "proxy-1-1", incarnation: incarnation, sequence: sequence, workload: 0))
    }

    func answered(_ effects: [CoreEffect]) -> Bool {
        effects.contains { if case .send("proxy-1-1", .membership) = $0 { true } else { false } }
    }

    func ignored(_ effects: [CoreEffect]) -> Bool {
        effects.contains { if case .observe(.staleHeartbeatIgnored(proxy: "proxy-1-1", _, _)) = $0 { true } else { false } }
    }

    @Test("a heartbeat of an earlier life, or an older or repeated one of the same life, is ignored; a newer one is taken")
    func staleHeartbeatsAreIgnored() {
        var region = RegionalCoordinator(settings: RegionSettings(region: "region-1"), incarnation: 1)
        var random = SeededSource(seed: 1)
        #expect(answered(region.handle(heartbeat(2, 5), context: context, random: &random)))
        let earlierLife = region.handle(heartbeat(1, 40), context: context, random: &random)
        #expect(!answered(earlierLife) && ignored(earlierLife), "\(earlierLife)")
        let repeated = region.handle(heartbeat(2, 5), context: context, random: &random)
        #expect(!answered(repeated) && ignored(repeated), "\(repeated)")
        let older = region.handle(heartbeat(2, 4), context: context, random: &random)
        #expect(!answered(older) && ignored(older), "\(older)")
        #expect(answered(region.handle(heartbeat(2, 6), context: context, random: &random)))
        #expect(answered(region.handle(heartbeat(3, 1), context: context, random: &random)), "a later life starts its count again")
    }

    @Test("a restarted region that hears a dead life first does not claim the live owner's task for it, and ignores that life from then on")
    func deadLifeHeardFirstGetsNoClaim() throws {
        var region = RegionalCoordinator(settings: RegionSettings(region: "region-1"), incarnation: 2)
        var random = SeededSource(seed: 1)
        let started = region.handle(.start, context: context, random: &random)
        #expect(!started.isEmpty)
        // The dead life's delayed heartbeat arrives before any of its successor's.
        let later = CoreContext(now: .seconds(5), address: "region-1", incarnation: 2)
        #expect(answered(region.handle(heartbeat(1, 9), context: later, random: &random)))
        let sweep = region.handle(.timer(.sweep), context: later, random: &random)
        guard case .send("store", .storeRequest(let requestID, .unfinishedTasks))? = sweep.first else {
            Issue.record("expected a sweep: \(sweep)")
            return
        }
        let task = TaskRecord(
            taskID: 7, userID: 1, taskType: "t", epoch: Epoch(global: 1, regional: 3), taskDescription: "d", ownerRegion: "region-1",
            ownerProxy: "proxy-1-1#2", status: .running,
            result: nil, reason: nil, requestDocumentID: nil, responseDocumentID: nil)
        let reconciled = region.handle(.message(from: "store", .storeReply(requestID: requestID, .tasks([task]))), context: later, random: &random)
        let claimsForDeadLife = reconciled.filter {
            if case .send("store", .storeRequest(_, .claim(7, _, _, let owner))) = $0 { owner?.incarnation == 1 } else { false }
        }
        #expect(claimsForDeadLife.isEmpty, "\(reconciled)")
        let replayed = region.handle(heartbeat(1, 10), context: later, random: &random)
        #expect(ignored(replayed) && !answered(replayed), "the store named a later life: \(replayed)")
        #expect(answered(region.handle(heartbeat(2, 1), context: later, random: &random)))
    }
}
