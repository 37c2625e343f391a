/// SplitMix64 (Steele, Lea, Flood 2014), used to expand one 64-bit seed into generator state
/// and to mix stream keys. Pinned by published vectors in the tests so that no toolchain
/// change can silently move every seed.
public struct SplitMix64: Sendable {
    @inlinable public var state: UInt64 { current }
    @usableFromInline var current: UInt64

    public init(state: UInt64) {
        current = state
    }

    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        current &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(current)
    }

    /// The SplitMix64 finaliser on its own: a bijective 64-bit mixer.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
