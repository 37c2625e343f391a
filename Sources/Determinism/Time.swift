/// Virtual or real time in integer nanoseconds: the one time unit of the roles, the fake LLM and
/// the simulator (whose `SimInstant` and `SimDuration` wrap it).
public typealias Nanos = Int64

public enum Time {
    public static let microsecond: Nanos = 1_000
    public static let millisecond: Nanos = 1_000_000
    public static let second: Nanos = 1_000_000_000
}
