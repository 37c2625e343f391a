import Foundation
import Testing

@testable import Server

/// The shell's clock under cluster-test's clock faults (a private `ClockSkew`, so the process's
/// own clock is untouched).
@Suite("The shell's skewable clock")
struct ClockSkewTests {
    func seconds(_ nanos: Int64) -> Double { Double(nanos) / 1e9 }

    @Test("with no fault set the clock reads true time")
    func unskewedIsTrue() {
        let skew = ClockSkew()
        #expect(skew.aheadNanos() == 0)
        #expect(abs(skew.wallNow().timeIntervalSince(Date())) < 0.05)
    }

    @Test("an offset jumps the clock at once, forward or back, and a rate makes it run fast or slow from then on")
    func offsetAndRate() {
        let skew = ClockSkew()
        skew.set(offsetNanos: -20_000_000_000, rate: 1)
        #expect(abs(seconds(skew.aheadNanos()) + 20) < 0.01, "20 s behind at once")
        #expect(abs(skew.wallNow().timeIntervalSince(Date()) + 20) < 0.05)
        let start = ContinuousClock.now
        skew.set(offsetNanos: 5_000_000_000, rate: 2)
        // Ten seconds of true time later the clock has run twenty: 5 s ahead, then 10 more.
        #expect(abs(seconds(skew.aheadNanos(at: start + .seconds(10))) - 15) < 0.05)
        skew.set(offsetNanos: 0, rate: 0.5)
        #expect(abs(seconds(skew.aheadNanos(at: .now + .seconds(10))) + 5) < 0.05, "half speed: 5 s behind after 10 s")
    }

    @Test("a clock-control file's text is OFFSET_MS RATE; anything else changes nothing")
    func controlText() {
        let skew = ClockSkew()
        #expect(skew.apply(control: "-1500 1.25\n"))
        #expect(abs(seconds(skew.aheadNanos()) + 1.5) < 0.01)
        for bad in ["", "12", "1 0", "1 -2", "x 1", "1 nan", "99999999999 1"] {
            #expect(!skew.apply(control: bad), "\(bad)")
        }
        #expect(abs(seconds(skew.aheadNanos()) + 1.5) < 0.05, "a malformed file leaves the clock as it was")
        #expect(skew.apply(control: "0 1"))
        #expect(skew.aheadNanos() == 0)
    }

    @Test("a shell clock reads the skewed time, scaled by its speedup, and never goes below its start")
    func shellClockFollows() {
        let skew = ClockSkew()
        let clock = ShellClock(speedup: 10, start: .now - .seconds(100), skew: skew)
        #expect(abs(Double(clock.now().nanoseconds) / 1e9 - 1000) < 1, "100 s at x10")
        skew.set(offsetNanos: 30_000_000_000, rate: 1)
        #expect(abs(Double(clock.now().nanoseconds) / 1e9 - 1300) < 1, "30 s ahead: 300 s of role time more")
        skew.set(offsetNanos: -3_600_000_000_000, rate: 1)
        #expect(clock.now().nanoseconds == 0, "an hour behind: pinned at the start")
    }
}
