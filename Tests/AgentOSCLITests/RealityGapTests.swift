import Testing

@testable import ClusterTest

@Suite("The reality gap: a real run beside its replay in the simulator")
struct RealityGapTests {
    @Test("the Kolmogorov-Smirnov distance is 0 for the same sample, 1 for disjoint ones, and the largest gap between the two distributions otherwise")
    func ksDistance() {
        #expect(RealityGapReport.ksDistance([1, 2, 3], [3, 2, 1]) == 0)
        #expect(RealityGapReport.ksDistance([1, 2], [5, 6, 7]) == 1)
        // After 1 and 2, a has seen 2/4, b 0/2; after 3, a 3/4 and b 1/2; after 4, a 1 and b 1/2.
        #expect(RealityGapReport.ksDistance([1, 2, 3, 4], [3, 9]) == 0.5)
    }

    @Test("a side's figures: mean, nearest-rank percentiles, throughput from the first submit, and recovery as the first task seen final after each fault")
    func sideFigures() {
        let side = RealityGapReport.side(
            passed: true, failed: [], latencies: [10, 20, 30, 40], finishes: [15, 35, 50, 75], firstSubmit: 15, faultEnds: [30, 60, 80])
        #expect(side.meanSeconds == 25)
        #expect(side.p50Seconds == 20 && side.p99Seconds == 40)
        #expect(side.throughputPerMinute == 4)
        #expect(side.recoverySeconds == [5, 15, nil])
    }
}
