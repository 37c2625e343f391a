/// What a prompt asks for, as the reference system's templates phrase it.
public enum PromptKind: Hashable, Sendable {
    /// A sample: the answer must have a `PLAN:` and an `OUTPUT:` section.
    case generation
    /// A vote among `choices` samples listed as `Choice 1:` ... ; the answer must end with
    /// `The best choice is N`.
    case voting(choices: Int)

    /// Made once: building it on every call was an allocation per LLM call.
    private static let choiceMarker: [UInt8] = Array("Choice ".utf8)

    /// Voting prompts list their samples as `Choice N:`; everything else is a generation.
    /// A scan of the UTF-8 bytes (no Foundation string search: this runs on every call).
    public static func classify(_ prompt: String) -> PromptKind {
        var prompt = prompt
        let marker = choiceMarker
        let highest = prompt.withUTF8 { bytes -> Int in
            var highest = 0
            var index = 0
            let end = bytes.count
            while index + marker.count < end {
                guard bytes[index] == marker[0] else {
                    index += 1
                    continue
                }
                var matched = true
                for offset in 1..<marker.count where bytes[index + offset] != marker[offset] {
                    matched = false
                    break
                }
                guard matched else {
                    index += 1
                    continue
                }
                index += marker.count
                var number = 0
                var digits = 0
                while index < end, bytes[index] >= 0x30, bytes[index] <= 0x39, digits < 18 {
                    number = number * 10 + Int(bytes[index] - 0x30)
                    digits += 1
                    index += 1
                }
                if digits > 0, index < end, bytes[index] == UInt8(ascii: ":") { highest = max(highest, number) }
            }
            return highest
        }
        return highest > 0 ? .voting(choices: highest) : .generation
    }
}

/// What the fake reads from a prompt before answering: its kind, its digest and its size, all
/// of the prompt text as `ChatRequest.promptText` frames it.
public struct PromptFacts: Hashable, Sendable {
    public let kind: PromptKind
    public let digest: UInt64
    public let tokens: Int
}

extension PromptFacts {
    /// The facts of `request`'s prompt text.
    public init(_ request: ChatRequest) {
        let prompt = request.promptText
        self.init(kind: PromptKind.classify(prompt), digest: PromptDigest.of(prompt), tokens: TokenEstimate.count(prompt))
    }

    /// The facts of a chat whose one message is the user's `content` (the simulator's calls),
    /// without building the framed text, and the digest of `content` itself, from one pass
    /// over it. The kind is the same read either way: the frame adds no `Choice N:`.
    public static func userMessage(_ content: String) -> (facts: PromptFacts, contentDigest: UInt64) {
        let frame = "user: "
        let digests = FNV64.hashes(of: content, andPrefixedBy: frame)
        let facts = PromptFacts(
            kind: PromptKind.classify(content), digest: digests.prefixed, tokens: (frame.utf8.count + content.utf8.count + 3) / 4)
        return (facts, digests.plain)
    }
}

/// The digest that ties an answer to its input: FNV-1a 64 over the prompt's UTF-8 bytes. Every
/// answer carries it as `[digest 0x...]`, so a checker can tell which inputs produced it.
public enum PromptDigest {
    public static func of(_ text: String) -> UInt64 { FNV64.hash(text) }

    public static func tag(_ digest: UInt64) -> String {
        FNV64.hex(digest, prefix: "[digest 0x", suffix: "]")
    }

    /// The first digest tag embedded in an answer, if any.
    public static func embedded(in answer: String) -> UInt64? {
        var answer = answer
        return answer.withUTF8 { bytes -> UInt64? in
            let marker: StaticString = "[digest 0x"
            guard let start = ByteSearch.firstOffset(of: marker, in: bytes) else { return nil }
            let digitsStart = start + marker.utf8CodeUnitCount
            guard digitsStart + 16 < bytes.count, bytes[digitsStart + 16] == UInt8(ascii: "]") else { return nil }
            var value: UInt64 = 0
            for byte in bytes[digitsStart..<digitsStart + 16] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt64(digit)
            }
            return value
        }
    }
}

/// Token estimates, integer-only: about four characters per token, as OpenAI's rule of thumb.
public enum TokenEstimate {
    public static func count(_ text: String) -> Int { (text.utf8.count + 3) / 4 }
}
