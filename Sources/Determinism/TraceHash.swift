/// The stable hash behind trace fingerprints (trace format version 2): one multiply-xorshift
/// step per 64-bit word, where FNV-1a takes eight dependent multiplies, one per byte.
///
/// Why a word hash: the kernel folds every trace event into the fingerprint, and byte-serial
/// FNV-1a was a quarter of its time (about 300 dependent multiplies per delivery). A step
/// here is `state = (state ^ word) * K; state ^= state >> 32`: for a fixed state, both halves
/// are bijections, so two different words at the same position always give different states,
/// and the shift carries the high bits the multiply produces back into the low ones before the
/// next word. It is a fingerprint, not a defence against crafted inputs.
///
/// Like `FNV64`, the result depends only on the words fed in (little-endian byte order for
/// strings), never on the host or the process. It is deliberately not named `...Hasher`: the
/// standard library's `Hasher` is seeded per process and must never reach a trace, and a
/// reader (or a lint) should never have to tell the two apart by their module.
public struct TraceHash: FieldHashing, Sendable, Hashable {
    public static let initialState: UInt64 = 0x6A09_E667_F3BC_C908
    /// An odd constant with well-spread bits (2^64 / golden ratio).
    public static let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15

    @usableFromInline var state: UInt64 = TraceHash.initialState

    @inlinable public var value: UInt64 { state }

    public init() {}

    @inlinable @inline(__always)
    public mutating func combine(_ word: UInt64) {
        let mixed = (state ^ word) &* TraceHash.multiplier
        state = mixed ^ (mixed >> 32)
    }

    /// A tag or other small value: one word step, like any other field.
    @inlinable @inline(__always)
    public mutating func combine(byte: UInt8) { combine(UInt64(byte)) }

    /// The string's UTF-8 length, then its bytes eight at a time (little-endian, the last word
    /// zero-padded; the length keeps "a\0" and "a" apart).
    @inlinable
    public mutating func combine(_ string: String) {
        var string = string
        string.withUTF8 { bytes in
            combine(UInt64(bytes.count))
            guard let base = bytes.baseAddress else { return }
            let whole = bytes.count & ~7
            var offset = 0
            while offset < whole {
                combine(UInt64(littleEndian: UnsafeRawPointer(base + offset).loadUnaligned(as: UInt64.self)))
                offset += 8
            }
            if offset < bytes.count {
                var tail: UInt64 = 0
                var shift: UInt64 = 0
                while offset < bytes.count {
                    tail |= UInt64(base[offset]) << shift
                    shift += 8
                    offset += 1
                }
                combine(tail)
            }
        }
    }

    /// `0x` and sixteen hex digits, as traces and reports print hashes.
    public var hex: String { FNV64.hex(state) }
}
