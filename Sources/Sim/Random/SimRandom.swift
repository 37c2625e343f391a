/// The simulator's only source of randomness: xoshiro256** (Blackman and Vigna), seeded through
/// SplitMix64, with an integer-only API. Floating point and the standard library's
/// `random(in:using:)` are deliberately absent: their algorithms may change between Swift
/// versions, and a seed must replay bit-identically forever.
public struct SimRandom: Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// Raw state, as in the reference implementation. The all-zero state is a fixed point.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "xoshiro256** state must not be all zero")
        (s0, s1, s2, s3) = state
    }

    /// A generator whose state is four SplitMix64 outputs of `seed`.
    public init(seed: UInt64) {
        var expander = SplitMix64(state: seed)
        self.init(expander: &expander)
    }

    /// A keyed sub-stream: the run seed plus a stable string key (`net`, `node/proxy-1/2`).
    /// The key is hashed with FNV-1a and mixed with SplitMix64, so adding a component never
    /// shifts another component's stream.
    public init(seed: UInt64, key: String) {
        var expander = SplitMix64(state: seed ^ SplitMix64.mix(FNV64.hash(key)))
        self.init(expander: &expander)
    }

    private init(expander: inout SplitMix64) {
        s0 = expander.next()
        s1 = expander.next()
        s2 = expander.next()
        s3 = expander.next()
        if (s0 | s1 | s2 | s3) == 0 { s0 = 1 }  // astronomically unlikely; keep the generator alive
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, 45)
        return result
    }

    @inlinable
    func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }

    /// An unbiased integer in `0..<bound` (Lemire's multiply-and-reject method).
    @inlinable
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "below(0) has no valid result")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }

    /// An unbiased index in `0..<count`.
    @inlinable
    public mutating func index(below count: Int) -> Int {
        precondition(count > 0, "index(below:) needs a positive count, got \(count)")
        return Int(below(UInt64(count)))
    }

    /// An unbiased integer in the closed range.
    public mutating func int64(in range: ClosedRange<Int64>) -> Int64 {
        let span = UInt64(bitPattern: range.upperBound &- range.lowerBound)
        if span == UInt64.max { return Int64(bitPattern: next()) }
        return range.lowerBound &+ Int64(bitPattern: below(span &+ 1))
    }

    /// An unbiased integer in the closed range.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        Int(int64(in: Int64(range.lowerBound)...Int64(range.upperBound)))
    }

    /// True with probability `ratio` (exact integer arithmetic).
    @inlinable
    public mutating func chance(_ ratio: Ratio) -> Bool {
        if ratio.numerator == 0 { return false }
        if ratio.numerator >= ratio.denominator { return true }
        return below(ratio.denominator) < ratio.numerator
    }

    /// An index drawn with probability proportional to its weight. Zero weights are never drawn.
    public mutating func weightedIndex(_ weights: [UInt64]) -> Int {
        var total: UInt64 = 0
        for weight in weights {
            let (sum, overflow) = total.addingReportingOverflow(weight)
            precondition(!overflow, "weights overflow UInt64: \(weights)")
            total = sum
        }
        precondition(total > 0, "weightedIndex needs a positive total weight, got \(weights)")
        var draw = below(total)
        for (index, weight) in weights.enumerated() {
            if draw < weight { return index }
            draw -= weight
        }
        preconditionFailure("unreachable: draw exceeded the total weight")
    }

    /// Fisher-Yates permutation in place, with unbiased draws.
    public mutating func permute<T>(_ elements: inout [T]) {
        guard elements.count > 1 else { return }
        var i = elements.count - 1
        while i > 0 {
            let j = Int(below(UInt64(i + 1)))
            if i != j { elements.swapAt(i, j) }
            i -= 1
        }
    }

    /// One element, uniformly; nil for an empty collection.
    public mutating func element<T>(of elements: [T]) -> T? {
        elements.isEmpty ? nil : elements[index(below: elements.count)]
    }

    /// A child stream, for handing a component its own generator derived from this one.
    public mutating func fork(key: String) -> SimRandom {
        SimRandom(seed: next(), key: key)
    }
}

/// A probability as an exact integer ratio, so that no decision ever depends on floating point.
public struct Ratio: Codable, Hashable, Sendable, CustomStringConvertible {
    public let numerator: UInt64
    public let denominator: UInt64

    public init(_ numerator: UInt64, _ denominator: UInt64) {
        precondition(denominator > 0, "ratio denominator must be positive (\(numerator)/\(denominator))")
        precondition(numerator <= denominator, "ratio must be at most 1 (\(numerator)/\(denominator))")
        self.numerator = numerator
        self.denominator = denominator
    }

    public static let never = Ratio(0, 1)
    public static let always = Ratio(1, 1)
    public static func percent(_ value: UInt64) -> Ratio { Ratio(value, 100) }
    public static func perMille(_ value: UInt64) -> Ratio { Ratio(value, 1000) }
    public static func oneIn(_ value: UInt64) -> Ratio { Ratio(1, value) }

    public var description: String { "\(numerator)/\(denominator)" }

    // Encoded as [numerator, denominator] so scenario files stay short and readable.
    public init(from decoder: Decoder) throws {
        var container = try decoder.unkeyedContainer()
        let numerator = try container.decode(UInt64.self)
        let denominator = try container.decode(UInt64.self)
        guard denominator > 0, numerator <= denominator else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "ratio [\(numerator), \(denominator)] must satisfy 0 <= n <= d, d > 0")
        }
        self.init(numerator, denominator)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(numerator)
        try container.encode(denominator)
    }
}
