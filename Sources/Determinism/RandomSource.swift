/// The one protocol every deterministic draw goes through: the simulator's keyed streams
/// (`SimRandom`), the roles' entropy, the fake LLM's calls, and `SeededSource` in the real
/// shell. Every draw is integer-only and defined here once, so the same stream gives the same
/// decisions in every module and every Swift version.
public protocol RandomSource {
    mutating func next() -> UInt64
}

extension RandomSource {
    /// An unbiased integer in `0..<bound` (Lemire's multiply-and-reject method).
    ///
    /// Inlined up to the first draw's acceptance, which is nearly every call: the kernel draws
    /// a few times per message, and the call was a measurable part of its cost.
    @inlinable @inline(__always)
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "below(0) has no valid result")
        let product = next().multipliedFullWidth(by: bound)
        // A low part at or above `bound` is above the rejection threshold too.
        if product.low >= bound { return product.high }
        return below(bound, rejecting: product)
    }

    /// The rest of `below` when the first draw's low part is under `bound`: the same values
    /// the plain loop gives.
    @inlinable
    mutating func below(_ bound: UInt64, rejecting first: (high: UInt64, low: UInt64)) -> UInt64 {
        var product = first
        let threshold = (0 &- bound) % bound
        while product.low < threshold {
            product = next().multipliedFullWidth(by: bound)
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
    @inlinable @inline(__always)
    public mutating func int64(in range: ClosedRange<Int64>) -> Int64 {
        let span = UInt64(bitPattern: range.upperBound &- range.lowerBound)
        if span == UInt64.max { return Int64(bitPattern: next()) }
        return range.lowerBound &+ Int64(bitPattern: below(span &+ 1))
    }

    /// An unbiased integer in the closed range.
    @inlinable
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
    @inlinable
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
    @inlinable
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
    @inlinable
    public mutating func element<T>(of elements: [T]) -> T? {
        elements.isEmpty ? nil : elements[index(below: elements.count)]
    }


    /// A duration in `base...base+spread`, for heartbeat and backoff jitter.
    @inlinable
    public mutating func jittered(_ base: Interval, spread: Interval) -> Interval {
        spread.nanoseconds <= 0 ? base : base + .nanoseconds(int64(in: 0...spread.nanoseconds))
    }
}

/// SplitMix64 as a `RandomSource`: a seeded generator for callers without a stream of their
/// own (the real shell's roles and fake LLM).
public struct SeededSource: RandomSource, Sendable {
    @usableFromInline var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(state: seed) }

    @inlinable
    public mutating func next() -> UInt64 { generator.next() }
}
