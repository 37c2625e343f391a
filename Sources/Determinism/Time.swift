/// The one time type of the roles, the fake LLM, the checkers and the simulator: integer
/// nanoseconds, a point (`Instant`) or a span (`Interval`). In the simulator the clock is
/// virtual (nothing in the simulated world reads a real clock); in the real shell an instant is
/// the time since the process started. Both encode as a bare integer of nanoseconds, so traces,
/// scenario files and the role plane's JSON read the same as when they were plain integers.
///
/// The span is `Interval`, not `Duration`: the real shell sleeps and times out with the standard
/// library's `Swift.Duration`, and a type of the same name here would shadow it in every module
/// that imports the core.
public struct Instant: Comparable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Instant(nanoseconds: 0)
    public static let distantFuture = Instant(nanoseconds: .max)
    /// The instant this long after the start.
    public static func nanoseconds(_ value: Int64) -> Instant { Instant(nanoseconds: value) }
    public static func milliseconds(_ value: Int64) -> Instant { Instant(nanoseconds: value * 1_000_000) }
    public static func seconds(_ value: Int64) -> Instant { Instant(nanoseconds: value * 1_000_000_000) }

    /// Whole milliseconds since the start, for messages.
    public var milliseconds: Int64 { nanoseconds / 1_000_000 }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Instant, rhs: Interval) -> Instant {
        // Saturate rather than trap: "run until the end of time" is a legitimate request.
        let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(rhs.nanoseconds)
        return Instant(nanoseconds: overflow ? .max : sum)
    }

    public static func - (lhs: Instant, rhs: Interval) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds - rhs.nanoseconds)
    }

    public static func - (lhs: Instant, rhs: Instant) -> Interval {
        Interval(nanoseconds: lhs.nanoseconds - rhs.nanoseconds)
    }

    public static func += (lhs: inout Instant, rhs: Interval) { lhs = lhs + rhs }

    public init(from decoder: Decoder) throws {
        nanoseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(nanoseconds)
    }

    public var description: String { Interval(nanoseconds: nanoseconds).description }
}

/// A span of time in integer nanoseconds.
public struct Interval: Comparable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = Interval(nanoseconds: 0)
    public static func nanoseconds(_ value: Int64) -> Interval { Interval(nanoseconds: value) }
    public static func microseconds(_ value: Int64) -> Interval { Interval(nanoseconds: value * 1_000) }
    public static func milliseconds(_ value: Int64) -> Interval { Interval(nanoseconds: value * 1_000_000) }
    public static func seconds(_ value: Int64) -> Interval { Interval(nanoseconds: value * 1_000_000_000) }

    /// Whole milliseconds and seconds, truncated, for messages and headers.
    public var milliseconds: Int64 { nanoseconds / 1_000_000 }
    public var seconds: Int64 { nanoseconds / 1_000_000_000 }

    public static func < (lhs: Interval, rhs: Interval) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    public static func + (lhs: Interval, rhs: Interval) -> Interval {
        Interval(nanoseconds: lhs.nanoseconds + rhs.nanoseconds)
    }
    public static func - (lhs: Interval, rhs: Interval) -> Interval {
        Interval(nanoseconds: lhs.nanoseconds - rhs.nanoseconds)
    }
    public static func * (lhs: Interval, rhs: Int64) -> Interval {
        Interval(nanoseconds: lhs.nanoseconds * rhs)
    }
    public static func * (lhs: Int64, rhs: Interval) -> Interval {
        Interval(nanoseconds: lhs * rhs.nanoseconds)
    }
    public static func / (lhs: Interval, rhs: Int64) -> Interval {
        Interval(nanoseconds: lhs.nanoseconds / rhs)
    }
    /// Doubling backoff: the interval times 2^`doublings`.
    public static func << (lhs: Interval, doublings: Int64) -> Interval {
        Interval(nanoseconds: lhs.nanoseconds << doublings)
    }

    public init(from decoder: Decoder) throws {
        nanoseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(nanoseconds)
    }

    /// Seconds with millisecond precision (`12.345s`), integer-formatted so it is exact.
    public var description: String {
        let sign = nanoseconds < 0 ? "-" : ""
        let magnitude = nanoseconds.magnitude
        let millis = magnitude / 1_000_000
        let fraction = String(millis % 1000)
        return "\(sign)\(millis / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)s"
    }
}
