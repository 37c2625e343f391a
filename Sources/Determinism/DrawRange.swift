/// A value carried by a 64-bit integer (a count, nanoseconds), so one range type serves them all.
public protocol Int64Backed: Codable, Hashable, Comparable, Sendable, CustomStringConvertible {
    init(int64: Int64)
    var int64: Int64 { get }
}

extension Int64: Int64Backed {
    @inlinable public init(int64: Int64) { self = int64 }
    @inlinable public var int64: Int64 { self }
}

/// An inclusive range, drawn uniformly with integer arithmetic: the fake LLM's token counts and
/// latencies (`IntRange`) and the simulator's fault durations (`DurationRange`) alike. Written
/// `{"min": ..., "max": ...}` in configuration files.
public struct DrawRange<Value: Int64Backed>: Codable, Hashable, Sendable, CustomStringConvertible {
    public var min: Value
    public var max: Value

    public init(_ min: Value, _ max: Value) {
        self.min = min
        self.max = max
    }

    @inlinable
    public func draw<R: RandomSource>(_ random: inout R) -> Value {
        Value(int64: random.int64(in: min.int64...max.int64))
    }

    public var description: String { "\(min)...\(max)" }

    /// Why the range is unusable as a span of counts or durations, if it is: `0 <= min <= max`.
    public var problem: String? {
        min.int64 >= 0 && min <= max ? nil : "range must satisfy 0 <= min <= max (got \(self))"
    }
}

public typealias IntRange = DrawRange<Int64>
