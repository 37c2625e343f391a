import Core

/// Reads a generation prompt as the model received it: which parent results its text embeds.
/// The checkers compare this to the stored results, so it is written against the prompt's
/// delimiters alone and shares no code with the role that built the prompt.
public enum PromptReading {
    /// The `(parent, digest of the embedded text)` pairs of every `<<result of step X>>` ...
    /// `<<end of step X>>` block, in the order they appear.
    public static func embeddedParents(_ prompt: String) -> [ParentResult] {
        let openPrefix = Array("<<result of step ".utf8)
        let lines = prompt.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        var parents: [ParentResult] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            guard line.starts(with: openPrefix), line.last == UInt8(ascii: ">"), line.count > openPrefix.count + 2 else { continue }
            let name = String(decoding: line.dropFirst(openPrefix.count).dropLast(2), as: UTF8.self)
            let close = Prompts.parentClose(name)
            var body: [Substring.UTF8View.SubSequence] = []
            var closed = false
            while index < lines.count {
                let next = lines[index]
                index += 1
                if String(decoding: next, as: UTF8.self) == close {
                    closed = true
                    break
                }
                body.append(next)
            }
            guard closed else { break }
            let text = body.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n")
            parents.append(ParentResult(node: name, resultDigest: FNV64.hex(FNV64.hash(text))))
        }
        return parents
    }
}
