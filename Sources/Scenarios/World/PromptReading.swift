import Core

/// Reads a generation prompt as the model received it: which parent results its text embeds.
/// The checkers compare this to the stored results, so it is written against the prompt's
/// delimiters alone and shares no code with the role that built the prompt.
public enum PromptReading {
    /// The `(parent, digest of the embedded text)` pairs of every `<<result of step X>>` ...
    /// `<<end of step X>>` block, in the order they appear.
    public static func embeddedParents(_ prompt: String) -> [ParentResult] {
        // Read line by line over the UTF-8 bytes, without a string per line: the endpoint reads
        // every generation prompt, and prompts embed whole results.
        var prompt = prompt
        return prompt.withUTF8 { bytes in
            let openPrefix: StaticString = "<<result of step "
            let prefixCount = openPrefix.utf8CodeUnitCount
            let count = bytes.count
            /// The end of the line starting at `start` (its newline, or the end of the prompt).
            func lineEnd(_ start: Int) -> Int {
                var end = start
                while end < count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
                return end
            }
            var parents: [ParentResult] = []
            var start = 0
            while start <= count {
                let end = lineEnd(start)
                let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
                start = end + 1
                let opens = openPrefix.withUTF8Buffer { line.starts(with: $0) }
                guard opens, line.last == UInt8(ascii: ">"), line.count > prefixCount + 2 else { continue }
                let name = String(decoding: UnsafeBufferPointer(rebasing: line[(line.startIndex + prefixCount)..<(line.endIndex - 2)]), as: UTF8.self)
                var close = Prompts.parentClose(name)
                // The body runs from the line after the opening one to the newline before the
                // closing line: the lines between, joined by their newlines.
                let bodyStart = start
                var closedAt: Int?
                close.withUTF8 { close in
                    while start <= count {
                        let end = lineEnd(start)
                        if UnsafeBufferPointer(rebasing: bytes[start..<end]).elementsEqual(close) {
                            closedAt = start
                            start = end + 1
                            return
                        }
                        start = end + 1
                    }
                }
                guard let closedAt else { break }
                let body = UnsafeBufferPointer(rebasing: bytes[bodyStart..<max(bodyStart, closedAt - 1)])
                var digest = FNV64()
                for byte in body { digest.combine(byte: byte) }
                parents.append(ParentResult(node: name, resultDigest: FNV64.hex(digest.value)))
            }
            return parents
        }
    }
}
