import Foundation
import Sim

/// One fault as it strikes: its kind, how long it lasts, and the details drawn from the run's
/// seed (which links, how much loss or delay, which side of a split), printed as it happens.
public struct FaultStep: Sendable {
    public let fault: ClusterUnderTest.Fault
    public let seconds: Double
    /// What the link faults do for the whole step (the flapping link's cut when it is down).
    public let links: LinkFaults
    /// Flapping: the link pair is cut and restored every this many milliseconds.
    public let flapMillis: Int?
    /// Clock skew: each role process's clock offset and rate.
    public let clocks: [String: ClockFault]
    public let description: String

    /// The longest a request anywhere in the cluster waits before giving up: the role plane's
    /// 10 s (`Transport`), which is above the clients' 2 s and the connect timeouts. A stalled
    /// store must outlast it, so every waiter times out while the store is stopped.
    public static let timeoutLongestSeconds = 10.0
    public static let stallSecondsMin = timeoutLongestSeconds + 2

    /// Draws the details of `fault` lasting about `seconds`.
    public static func plan(_ fault: ClusterUnderTest.Fault, seconds: Double, random: inout SimRandom) -> FaultStep {
        var links = LinkFaults()
        var flapMillis: Int?
        var clocks: [String: ClockFault] = [:]
        var seconds = seconds
        let description: String
        func draw(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.below(UInt64(range.count))) }
        switch fault {
        case .stallStore:
            seconds = max(seconds, stallSecondsMin)
            description = fault.description
        case .delay:
            for link in Link.talking {
                let base = draw(20...500)
                links.delay[link] = LinkDelay(baseMillis: base, jitterMillis: draw(0...base))
            }
            description = "delay " + Link.talking.map { "\($0) \(links.delay[$0]!)" }.joined(separator: ", ")
        case .loss:
            for link in Link.talking { links.lossPercent[link] = draw(5...40) }
            description = "loss " + Link.talking.map { "\($0) \(links.lossPercent[$0]!)%" }.joined(separator: ", ")
        case .oneWay:
            let link = Link.talking[random.index(below: Link.talking.count)]
            links.muted = [link]
            description = "one-way cut: \(link.to) does not hear \(link.from) (\(link.from) still hears \(link.to))"
        case .splitMinority:
            let alone = ClusterNetwork.processes[random.index(below: ClusterNetwork.processes.count)]
            links.muted = split([alone])
            description = "split \(alone) | \(ClusterNetwork.processes.filter { $0 != alone }.joined(separator: ", ")) (clients reach every process)"
        case .splitHalves:
            // `a` with one of the other three: the three ways to halve four processes.
            let partner = ClusterNetwork.processes.filter { $0 != "a" }[random.index(below: 3)]
            links.muted = split(["a", partner])
            description = "split a, \(partner) | \(ClusterNetwork.processes.filter { $0 != "a" && $0 != partner }.joined(separator: ", ")) (clients reach every process)"
        case .flapping:
            let link = Link.talking[random.index(below: Link.talking.count)]
            links.muted = [link, Link(link.to, link.from)]
            flapMillis = draw(100...600)
            description = "flapping \(link.from)<->\(link.to): cut and restored every \(flapMillis!) ms"
        case .clockSkew:
            for name in ["a", "b", "c"] {
                let offset = draw(-ClockFault.offsetMillisMax...ClockFault.offsetMillisMax)
                let rate = Double(draw(Int(ClockFault.rateMin * 100)...Int(ClockFault.rateMax * 100))) / 100
                clocks[name] = ClockFault(offsetMillis: offset, rate: rate)
            }
            description = "clocks " + clocks.keys.sorted().map { "\($0) \(clocks[$0]!)" }.joined(separator: ", ")
        case .kill, .pause, .partition, .killAll, .diskFull:
            description = fault.description
        }
        return FaultStep(fault: fault, seconds: seconds, links: links, flapMillis: flapMillis, clocks: clocks, description: description)
    }

    /// Every link between `side` and the other processes, both ways.
    static func split(_ side: Set<String>) -> Set<Link> {
        Set(LinkPlane.allLinks.filter { side.contains($0.from) != side.contains($0.to) })
    }
}

/// One process's clock under a clock fault: off by `offsetMillis` of real time at once, then
/// running `rate` times as fast as true time (the shell's own clock, `ClockSkew`).
public struct ClockFault: Equatable, Sendable, CustomStringConvertible {
    public var offsetMillis: Int
    public var rate: Double

    public static let none = ClockFault(offsetMillis: 0, rate: 1)

    /// What the cluster must survive (docs/reference.md, "Clock faults"): offsets up to a minute
    /// of real time either way, well inside the role plane's 300 s signature window, so skewed
    /// peers still accept each other's signatures; rates from half to twice true speed.
    public static let offsetMillisMax = 60_000
    public static let rateMin = 0.5
    public static let rateMax = 2.0

    public var description: String { String(format: "%+.1f s x%.2f", Double(offsetMillis) / 1000, rate) }
}

extension ClusterUnderTest {
    /// Applies a link fault for its length, then heals the links; returns what it did.
    func injectLinks(_ step: FaultStep) async throws -> String {
        guard let linkPlane else { throw ClusterTestError("\(step.fault.name) needs the link plane (network namespaces and nftables)") }
        let before = linkPlane.effect
        let end = ContinuousClock.now + .milliseconds(Int64(step.seconds * 1000))
        if let flapMillis = step.flapMillis {
            var cut = true
            while ContinuousClock.now < end {
                try linkPlane.apply(cut ? step.links : .healthy)
                cut.toggle()
                try await Task.sleep(for: min(.milliseconds(flapMillis), end - ContinuousClock.now))
            }
        } else {
            try linkPlane.apply(step.links)
            try await Task.sleep(until: end)
        }
        try linkPlane.apply(.healthy)
        let after = linkPlane.effect
        return step.fault == .delay ? "\(after.delayed - before.delayed) chunk(s) delayed" : "\(after.dropped - before.dropped) packet(s) dropped"
    }
}
