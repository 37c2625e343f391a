/// Exact text operations over UTF-8 bytes, for the markers and templates the roles and the fake
/// LLM read and write on every call. Foundation's string search compares with Unicode
/// equivalence through CFString, which was a measurable share of a simulated run; the markers
/// here are ASCII and matched byte for byte, which for our own templates is the same answer and
/// is the same on every platform and locale.
public enum ByteSearch {
    /// The byte offset of the first occurrence of `needle` in `haystack` at or after `start`.
    public static func firstOffset(of needle: UnsafeBufferPointer<UInt8>, in haystack: UnsafeBufferPointer<UInt8>, from start: Int = 0) -> Int? {
        let count = needle.count
        guard count > 0 else { return start }
        guard count <= haystack.count else { return nil }
        let first = needle[0]
        var index = start
        let last = haystack.count - count
        while index <= last {
            if haystack[index] == first {
                var offset = 1
                while offset < count, haystack[index + offset] == needle[offset] { offset += 1 }
                if offset == count { return index }
            }
            index += 1
        }
        return nil
    }

    /// The byte offset of the last occurrence of `needle` in `haystack`.
    public static func lastOffset(of needle: UnsafeBufferPointer<UInt8>, in haystack: UnsafeBufferPointer<UInt8>) -> Int? {
        let count = needle.count
        guard count > 0 else { return haystack.count }
        guard count <= haystack.count else { return nil }
        var index = haystack.count - count
        while index >= 0 {
            if haystack[index] == needle[0] {
                var offset = 1
                while offset < count, haystack[index + offset] == needle[offset] { offset += 1 }
                if offset == count { return index }
            }
            index -= 1
        }
        return nil
    }

    public static func firstOffset(of needle: StaticString, in haystack: UnsafeBufferPointer<UInt8>) -> Int? {
        needle.withUTF8Buffer { firstOffset(of: $0, in: haystack) }
    }

    /// The byte offset of the first occurrence of `needle` in `text` at or after byte `start`.
    public static func firstOffset(of needle: String, in text: String, from start: Int = 0) -> Int? {
        var text = text
        var needle = needle
        return text.withUTF8 { haystack in needle.withUTF8 { firstOffset(of: $0, in: haystack, from: start) } }
    }

    /// The byte offset of the last occurrence of `needle` in `text`.
    public static func lastOffset(of needle: String, in text: String) -> Int? {
        var text = text
        var needle = needle
        return text.withUTF8 { haystack in needle.withUTF8 { lastOffset(of: $0, in: haystack) } }
    }

    /// `text` with every non-overlapping occurrence of `target` (searched left to right)
    /// replaced by `replacement`; `text` itself when there is none, without a copy.
    public static func replacing(_ target: String, with replacement: String, in text: String) -> String {
        var bytesOfText = text
        var target = target
        return bytesOfText.withUTF8 { haystack in
            target.withUTF8 { needle in
                guard needle.count > 0, var found = firstOffset(of: needle, in: haystack, from: 0) else { return text }
                var bytes: [UInt8] = []
                bytes.reserveCapacity(haystack.count + 16)
                var copied = 0
                while true {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: haystack[copied..<found]))
                    bytes.append(contentsOf: replacement.utf8)
                    copied = found + needle.count
                    guard let next = firstOffset(of: needle, in: haystack, from: copied) else { break }
                    found = next
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: haystack[copied...]))
                return String(decoding: bytes, as: UTF8.self)
            }
        }
    }

    /// `text` without the white space and line breaks at either end: the scalars Foundation's
    /// `CharacterSet.whitespacesAndNewlines` holds (tab, U+000A-U+000D, U+0085, and the Unicode
    /// space, line and paragraph separators).
    public static func trimmingWhitespace(_ text: Substring) -> Substring {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isWhitespaceOrNewline($0) }) else { return text[text.endIndex...] }
        let last = scalars.lastIndex(where: { !isWhitespaceOrNewline($0) })!
        return Substring(scalars[first...last])
    }

    public static func isWhitespaceOrNewline(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0: return true
        case 0..<0x80: return false
        default:
            switch scalar.properties.generalCategory {
            case .spaceSeparator, .lineSeparator, .paragraphSeparator: return true
            default: return false
            }
        }
    }
}
