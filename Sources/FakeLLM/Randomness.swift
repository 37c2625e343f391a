/// The fake LLM's only randomness: a 64-bit source handed in by the caller (the simulator's
/// keyed stream for the call, or a seeded generator in the real shell). Integer-only draws, so
/// the same request, configuration and stream give the same answer and delays forever.
public protocol RandomSource {
    mutating func next() -> UInt64
}

extension RandomSource {
    /// An unbiased integer in `0..<bound` (multiply-and-reject).
    public mutating func draw(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "draw(below: 0) has no valid result")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }

    /// An unbiased integer in the closed range.
    public mutating func draw(in range: ClosedRange<Int64>) -> Int64 {
        let span = UInt64(bitPattern: range.upperBound &- range.lowerBound)
        if span == .max { return Int64(bitPattern: next()) }
        return range.lowerBound &+ Int64(bitPattern: draw(below: span &+ 1))
    }

    /// True with probability `odds`.
    public mutating func happens(_ odds: Odds) -> Bool {
        odds.numerator > 0 && (odds.numerator >= odds.denominator || draw(below: odds.denominator) < odds.numerator)
    }
}

/// SplitMix64 as a `RandomSource`, for callers without a stream of their own (the HTTP endpoint).
public struct SeededSource: RandomSource, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A probability as an exact integer ratio, written `[numerator, denominator]` in config files.
public struct Odds: Codable, Hashable, Sendable, CustomStringConvertible {
    public let numerator: UInt64
    public let denominator: UInt64

    public init(_ numerator: UInt64, _ denominator: UInt64) {
        precondition(denominator > 0 && numerator <= denominator, "odds must satisfy 0 <= n <= d, d > 0 (\(numerator)/\(denominator))")
        self.numerator = numerator
        self.denominator = denominator
    }

    public static let never = Odds(0, 1)
    public static func percent(_ value: UInt64) -> Odds { Odds(value, 100) }
    public static func perMille(_ value: UInt64) -> Odds { Odds(value, 1000) }

    public var description: String { "\(numerator)/\(denominator)" }

    public init(from decoder: Decoder) throws {
        var container = try decoder.unkeyedContainer()
        let numerator = try container.decode(UInt64.self)
        let denominator = try container.decode(UInt64.self)
        guard denominator > 0, numerator <= denominator else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "odds [\(numerator), \(denominator)] must satisfy 0 <= n <= d, d > 0")
        }
        self.init(numerator, denominator)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(numerator)
        try container.encode(denominator)
    }
}
