import Testing
@testable import Sim

/// The kernel's timer table must answer exactly what a `Dictionary` answers, whatever the keys'
/// collisions: its layout only changes speed.
@Suite("The kernel's timer table")
struct TimerTableTests {
    /// A timer whose key the test chooses: `bucket` values collide on purpose.
    struct ProbeTimer: SimTimer {
        var id: UInt64
        var bucket: UInt64
        var tableKey: UInt64 { bucket }
        func stableHash(into hasher: inout TraceHash) { hasher.combine(id) }
    }

    @Test("arming, re-arming, cancelling and clearing agree with a dictionary, with and without colliding keys",
        arguments: [1, 3, 64, 1 << 40])
    func agreesWithDictionary(buckets: UInt64) {
        var random = SimRandom(seed: buckets, key: "timer-table")
        var table = TimerTable<ProbeTimer>()
        var model: [UInt64: UInt64] = [:]
        func timer(_ id: UInt64) -> ProbeTimer { ProbeTimer(id: id, bucket: id % buckets) }
        for step in 0..<20_000 {
            let id = random.below(200)
            switch random.below(10) {
            case 0..<5:
                table[timer(id)] = UInt64(step)
                model[id] = UInt64(step)
            case 5..<8:
                table[timer(id)] = nil
                model[id] = nil
            case 8:
                #expect(table[timer(id)] == model[id], "step \(step): timer \(id)")
            default:
                if random.below(50) == 0 {
                    table.removeAll()
                    model.removeAll()
                }
            }
            #expect(table.count == model.count, "step \(step)")
        }
        for id in 0..<UInt64(200) {
            #expect(table[timer(id)] == model[id], "timer \(id) at the end")
        }
    }

    @Test("a cleared table keeps working after growing")
    func clearedTableIsReusable() {
        var table = TimerTable<ProbeTimer>()
        for id in 0..<UInt64(1000) { table[ProbeTimer(id: id, bucket: id)] = id }
        #expect(table.count == 1000)
        table.removeAll()
        #expect(table.isEmpty)
        #expect(table[ProbeTimer(id: 5, bucket: 5)] == nil)
        table[ProbeTimer(id: 5, bucket: 5)] = 9
        #expect(table[ProbeTimer(id: 5, bucket: 5)] == 9)
    }
}
