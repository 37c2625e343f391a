/// A role's address: its node name (`gateway`, `store`, `region-1`, `proxy-1-2`, `llm-1`,
/// `client-3`). The simulator and the real shell map addresses to their transport.
public typealias Address = String

/// A task's id, as the store assigns it.
public typealias TaskID = Int64

/// Virtual or real time in integer nanoseconds.
public typealias Nanos = Int64

public enum Time {
    public static let millisecond: Nanos = 1_000_000
    public static let second: Nanos = 1_000_000_000
}

/// The 64-bit source the roles draw from: the simulator's keyed stream of the node, or a seeded
/// generator in the real shell. Core never draws system randomness.
public protocol EntropySource {
    mutating func next() -> UInt64
}

extension EntropySource {
    /// An unbiased index in `0..<count`, by rejecting draws from the incomplete top bucket.
    public mutating func index(below count: Int) -> Int {
        precondition(count > 0, "index(below:) needs a positive count, got \(count)")
        let bound = UInt64(count)
        let limit = UInt64.max - (UInt64.max % bound + 1) % bound
        var value = next()
        while value > limit { value = next() }
        return Int(value % bound)
    }

    /// A duration in `base...base+spread`, for heartbeat and backoff jitter.
    public mutating func jittered(_ base: Nanos, spread: Nanos) -> Nanos {
        spread <= 0 ? base : base + Nanos(index(below: Int(spread) + 1))
    }
}

/// FNV-1a 64 over UTF-8: the digests that tie saved results to their inputs. Written out here
/// (not `Hasher`, which is seeded per process) so digests are the same in every process.
public enum StableDigest {
    public static func of(_ text: String) -> UInt64 {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return value
    }

    public static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
    }
}
