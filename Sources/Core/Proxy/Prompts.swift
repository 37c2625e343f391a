/// The reference system's prompt templates and answer parsing, without its bugs: votes are
/// parsed as whole numbers (a vote of 12 is 12, not 2), and the stop string that cuts
/// intermediate samples matches the template's case.
public enum Prompts {
    public static let planMarker = "PLAN:"
    public static let outputMarker = "OUTPUT:"
    public static let voteSentence = "The best choice is"

    /// A sample prompt. Each parent's result comes in its own delimited block, so the model
    /// (and a checker reading what was sent) can tell where one result ends. From round 2 on,
    /// the previous round's winning plan comes as hints.
    public static func generation(task: String, parentResults: [(String, String)], hints: String?) -> String {
        var text = "Task: \(task)\n"
        if !parentResults.isEmpty {
            text += "Results of the steps this one builds on:\n"
            for (parent, result) in parentResults { text += "\(parentOpen(parent))\n\(result)\n\(parentClose(parent))\n" }
        }
        if let hints { text += "Hints from the previous round's best plan: \(hints)\n" }
        text += "Answer in two sections: first \"\(planMarker)\" followed by your plan, then \"\(outputMarker)\" followed by the final answer."
        return text
    }

    /// The lines that open and close a parent's result in a generation prompt.
    public static func parentOpen(_ parent: String) -> String { "<<result of step \(parent)>>" }
    public static func parentClose(_ parent: String) -> String { "<<end of step \(parent)>>" }

    /// Intermediate rounds only need the plan: stop at the output section.
    public static func generationStops(finalRound: Bool) -> [String] {
        finalRound ? [] : [outputMarker]
    }

    /// A voting prompt listing the samples as `Choice 1:` ... `Choice k:`.
    public static func voting(task: String, choices: [String]) -> String {
        var text = "Task: \(task)\nSeveral answers were proposed:\n"
        for (index, choice) in choices.enumerated() {
            // A choice's own text must not look like another choice header.
            let flattened = ByteSearch.replacing("Choice ", with: "choice ", in: choice)
            text += "Choice \(index + 1): \(flattened)\n"
        }
        text += "Compare them and end your answer with \"\(voteSentence) N\", where N is the number of the best choice."
        return text
    }

    /// The choice a vote names (1-based), or nil when the vote has no sentence or names a
    /// choice out of range. Reads the whole number after the last sentence.
    public static func parseVote(_ answer: String, choices: Int) -> Int? {
        guard let offset = ByteSearch.lastOffset(of: voteSentence, in: answer) else { return nil }
        let rest = answer.utf8.dropFirst(offset + voteSentence.utf8.count).drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: ":") }
        let digits = rest.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        let vote = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        return vote >= 1 && vote <= choices ? vote : nil
    }

    /// The text after `PLAN:` up to `OUTPUT:` (or the end), trimmed; nil if absent or empty.
    public static func plan(of answer: String) -> String? {
        guard let start = ByteSearch.firstOffset(of: planMarker, in: answer) else { return nil }
        let planStart = start + planMarker.utf8.count
        let end = ByteSearch.firstOffset(of: outputMarker, in: answer, from: planStart) ?? answer.utf8.count
        let trimmed = ByteSearch.trimmingWhitespace(Substring(answer.utf8.dropFirst(planStart).prefix(end - planStart)))
        return trimmed.isEmpty ? nil : String(trimmed)
    }

    /// The text after `OUTPUT:`, trimmed; nil if absent or empty.
    public static func output(of answer: String) -> String? {
        guard let start = ByteSearch.firstOffset(of: outputMarker, in: answer) else { return nil }
        let trimmed = ByteSearch.trimmingWhitespace(Substring(answer.utf8.dropFirst(start + outputMarker.utf8.count)))
        return trimmed.isEmpty ? nil : String(trimmed)
    }
}
