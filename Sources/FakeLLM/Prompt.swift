/// What a prompt asks for, as the reference system's templates phrase it.
public enum PromptKind: Hashable, Sendable {
    /// A sample: the answer must have a `PLAN:` and an `OUTPUT:` section.
    case generation
    /// A vote among `choices` samples listed as `Choice 1:` ... ; the answer must end with
    /// `The best choice is N`.
    case voting(choices: Int)

    /// Voting prompts list their samples as `Choice N:`; everything else is a generation.
    public static func classify(_ prompt: String) -> PromptKind {
        var highest = 0
        var rest = Substring(prompt)
        while let range = rest.range(of: "Choice ") {
            rest = rest[range.upperBound...]
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            if let number = Int(digits), rest.dropFirst(digits.count).first == ":" { highest = max(highest, number) }
        }
        return highest > 0 ? .voting(choices: highest) : .generation
    }
}

/// The digest that ties an answer to its input: FNV-1a 64 over the prompt's UTF-8 bytes. Every
/// answer carries it as `[digest 0x...]`, so a checker can tell which inputs produced it.
public enum PromptDigest {
    public static func of(_ text: String) -> UInt64 { FNV64.hash(text) }

    public static func tag(_ digest: UInt64) -> String {
        let digits = String(digest, radix: 16)
        return "[digest 0x" + String(repeating: "0", count: 16 - digits.count) + digits + "]"
    }

    /// The first digest tag embedded in an answer, if any.
    public static func embedded(in answer: String) -> UInt64? {
        guard let range = answer.range(of: "[digest 0x") else { return nil }
        let digits = answer[range.upperBound...].prefix(16)
        guard digits.count == 16, answer[range.upperBound...].dropFirst(16).first == "]" else { return nil }
        return UInt64(digits, radix: 16)
    }
}

/// Token estimates, integer-only: about four characters per token, as OpenAI's rule of thumb.
public enum TokenEstimate {
    public static func count(_ text: String) -> Int { (text.utf8.count + 3) / 4 }
}
