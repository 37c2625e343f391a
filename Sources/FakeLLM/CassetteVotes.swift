/// A voting prompt read as its parts: the text before the first choice, the choices, and the
/// text after the last (`Prompts.voting` in Core writes them). Two votes over the same choices
/// in different orders share an order-free key, so a cassette can answer one with the other's
/// recorded vote, renumbered.
struct VoteForm {
    var head: String
    var choices: [String]
    var tail: String
    var stop: [String]
    var maxTokens: Int?

    static let tailMarker = "\nCompare them"

    static let voteSentence = "The best choice is "

    /// Nil unless the request is one user message listing `Choice 1:` ... `Choice N:` in order.
    init?(_ request: CassetteRequest) {
        guard request.messages.count == 1, let content = request.messages.first?.content,
            content.contains("Choice 1: "), let tailStart = content.range(of: Self.tailMarker, options: .backwards)
        else { return nil }
        var rest = content[content.startIndex..<tailStart.lowerBound]
        var starts: [Range<String.Index>] = []
        var number = 1
        while let marker = rest.range(of: "Choice \(number): ") {
            starts.append(marker)
            rest = content[marker.upperBound..<tailStart.lowerBound]
            number += 1
        }
        guard !starts.isEmpty else { return nil }
        head = String(content[content.startIndex..<starts[0].lowerBound])
        choices = starts.indices.map { index in
            let end = index + 1 < starts.count ? starts[index + 1].lowerBound : tailStart.lowerBound
            var text = content[starts[index].upperBound..<end]
            if text.hasSuffix("\n") { text = text.dropLast() }
            return String(text)
        }
        tail = String(content[tailStart.lowerBound...])
        stop = request.stop
        maxTokens = request.maxTokens
    }

    /// The vote's key with its choices sorted: the same for every order of the same choices.
    var key: String {
        var hash = FNV64()
        hash.combine("vote")
        hash.combine(head)
        hash.combine(UInt64(choices.count))
        for choice in choices.sorted() { hash.combine(choice) }
        hash.combine(tail)
        hash.combine(UInt64(stop.count))
        for sequence in stop { hash.combine(sequence) }
        hash.combine(UInt64(bitPattern: Int64(maxTokens ?? -1)))
        return String(hash.value, radix: 16)
    }

    /// `answer`, recorded for `recorded`'s order of the choices, naming the same choice in this
    /// order; an answer that names no valid choice is left as it is.
    func renumber(_ answer: String, from recorded: VoteForm) -> String {
        guard let sentence = answer.range(of: Self.voteSentence, options: .backwards) else { return answer }
        let digits = answer[sentence.upperBound...].prefix { $0.isNumber }
        guard let number = Int(digits), recorded.choices.indices.contains(number - 1),
            let mine = choices.firstIndex(of: recorded.choices[number - 1])
        else { return answer }
        let numberEnd = answer.index(sentence.upperBound, offsetBy: digits.count)
        return String(answer[..<sentence.upperBound]) + String(mine + 1) + String(answer[numberEnd...])
    }
}
