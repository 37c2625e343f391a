/// FNV-1a, 64-bit: the stable hash behind stream keys and digests (trace fingerprints use
/// `TraceHash`). The standard library's `Hasher` is seeded per process and must never reach
/// a trace or a decision.
public struct FNV64: FieldHashing, Sendable, Hashable {
    public static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01B3

    /// Written by inlinable code in other modules (the kernel and the message hashing sit
    /// outside this one), so the state is usable from inline; read it as `value`.
    @usableFromInline var state: UInt64 = FNV64.offsetBasis

    @inlinable public var value: UInt64 { state }

    public init() {}

    @inlinable @inline(__always)
    public mutating func combine(byte: UInt8) {
        state = (state ^ UInt64(byte)) &* FNV64.prime
    }

    /// The eight little-endian bytes of `word`, so the result does not depend on the host.
    @inlinable @inline(__always)
    public mutating func combine(_ word: UInt64) {
        var v = state
        var w = word
        for _ in 0..<8 {
            v = (v ^ (w & 0xFF)) &* FNV64.prime
            w >>= 8
        }
        state = v
    }

    /// A string's UTF-8 bytes, length-prefixed so that ("ab", "c") and ("a", "bc") differ.
    @inlinable
    public mutating func combine(_ string: String) {
        combine(UInt64(string.utf8.count))
        combineBytes(of: string)
    }

    @inlinable
    /// The digest of `string` and of `prefix + string`, in one pass over `string`: FNV is a
    /// chain of dependent multiplications, so a second, independent chain in the same loop
    /// costs little more than the first.
    public static func hashes(of string: String, andPrefixedBy prefix: String) -> (plain: UInt64, prefixed: UInt64) {
        var prefixed = FNV64()
        prefixed.combineBytes(of: prefix)
        var string = string
        var plain = FNV64.offsetBasis
        var withPrefix = prefixed.state
        string.withUTF8 { bytes in
            for byte in bytes {
                plain = (plain ^ UInt64(byte)) &* FNV64.prime
                withPrefix = (withPrefix ^ UInt64(byte)) &* FNV64.prime
            }
        }
        return (plain, withPrefix)
    }

    public static func hash(_ string: String) -> UInt64 {
        var hasher = FNV64()
        hasher.combineBytes(of: string)
        return hasher.value
    }

    /// The string's UTF-8 bytes, read from contiguous storage (a native string's own buffer)
    /// rather than through the UTF-8 view's iterator: the same bytes, a fraction of the cost.
    @inlinable
    mutating func combineBytes(of string: String) {
        var string = string
        var v = state
        string.withUTF8 { bytes in
            for byte in bytes { v = (v ^ UInt64(byte)) &* FNV64.prime }
        }
        state = v
    }

    /// `0x` and sixteen hex digits, as traces and reports print hashes.
    public static func hex(_ value: UInt64) -> String {
        hex(value, prefix: "0x", suffix: "")
    }

    /// `prefix`, sixteen lowercase hex digits of `value`, then `suffix` (ASCII affixes), written
    /// straight into the string's storage: digests are printed on every LLM call and every
    /// saved result, and formatting with a radix, padding and concatenating took three strings.
    public static func hex(_ value: UInt64, prefix: StaticString, suffix: StaticString) -> String {
        let digits: StaticString = "0123456789abcdef"
        let count = prefix.utf8CodeUnitCount + 16 + suffix.utf8CodeUnitCount
        return String(unsafeUninitializedCapacity: count) { buffer in
            var at = 0
            prefix.withUTF8Buffer { for byte in $0 { buffer[at] = byte; at += 1 } }
            digits.withUTF8Buffer { digits in
                for shift in stride(from: 60, through: 0, by: -4) {
                    buffer[at] = digits[Int((value >> UInt64(shift)) & 0xF)]
                    at += 1
                }
            }
            suffix.withUTF8Buffer { for byte in $0 { buffer[at] = byte; at += 1 } }
            return at
        }
    }
}

/// A stable hash fed field by field: the wide types reduce to a 64-bit word, a flag to a byte.
/// `FNV64` and `TraceHash` differ only in how they fold a byte and a word.
public protocol FieldHashing {
    mutating func combine(byte: UInt8)
    mutating func combine(_ word: UInt64)
}

extension FieldHashing {
    @inlinable @inline(__always)
    public mutating func combine(_ value: Int64) { combine(UInt64(bitPattern: value)) }

    @inlinable @inline(__always)
    public mutating func combine(_ value: Int) { combine(UInt64(bitPattern: Int64(value))) }

    @inlinable @inline(__always)
    public mutating func combine(_ value: UInt32) { combine(UInt64(value)) }

    @inlinable @inline(__always)
    public mutating func combine(_ value: Bool) { combine(byte: value ? 1 : 0) }

    /// Times as their nanoseconds: the words they fed when they were plain integers.
    @inlinable @inline(__always)
    public mutating func combine(_ value: Instant) { combine(value.nanoseconds) }

    @inlinable @inline(__always)
    public mutating func combine(_ value: Interval) { combine(value.nanoseconds) }
}
