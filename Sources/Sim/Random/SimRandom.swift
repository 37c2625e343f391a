@_exported import Determinism

/// The simulator's only source of randomness: xoshiro256** (Blackman and Vigna), seeded through
/// SplitMix64, with an integer-only API. Floating point and the standard library's
/// `random(in:using:)` are deliberately absent: their algorithms may change between Swift
/// versions, and a seed must replay bit-identically forever.
public struct SimRandom: RandomSource, Sendable {
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

    @inlinable @inline(__always)
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

    @inlinable @inline(__always)
    func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }

    /// A child stream, for handing a component its own generator derived from this one.
    public mutating func fork(key: String) -> SimRandom {
        SimRandom(seed: next(), key: key)
    }
}

