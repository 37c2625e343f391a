import Core

/// One broken invariant: what, where, when, and the events that show it.
public struct Violation: Codable, Hashable, Sendable, CustomStringConvertible {
    public var invariant: Invariant
    public var task: TaskID?
    public var node: String?
    public var time: Instant
    public var detail: String
    /// The trace events involved, as `#index t=... node: observation`.
    public var events: [String]

    public init(invariant: Invariant, task: TaskID?, node: String?, time: Instant, detail: String, events: [String]) {
        self.invariant = invariant
        self.task = task
        self.node = node
        self.time = time
        self.detail = detail
        self.events = events
    }

    /// The kind of evidence, for telling one failure from another of the same invariant: the
    /// detail without its numbers, quoted names and parenthesised particulars ("still running
    /// at the end of the liveness phase", "task # was acknowledged as task # and again as task #").
    public var evidenceClass: String {
        var text = ""
        var inQuote = false
        var lastWasDigit = false
        for character in detail {
            if character == "(" { break }
            if character == "'" {
                inQuote.toggle()
                if !inQuote { text += "'…'" }
                continue
            }
            if inQuote { continue }
            if character.isNumber {
                if !lastWasDigit { text += "#" }
                lastWasDigit = true
                continue
            }
            if lastWasDigit, character == "." || character == "s" { continue }
            lastWasDigit = false
            text.append(character)
        }
        while text.last == " " { text.removeLast() }
        return "\(invariant.rawValue): " + text
    }

    public var description: String {
        var text = "\(invariant) violated"
        if let task { text += " on task \(task)" }
        if let node { text += " node '\(node)'" }
        text += " at t=\(time): \(detail)"
        for event in events { text += "\n    \(event)" }
        return text
    }
}

/// The verdict of one checker, with what it examined: part of every report.
public struct CheckVerdict: Codable, Hashable, Sendable {
    public var invariant: Int
    public var name: String
    public var passed: Bool
    public var violations: Int
    public var evidence: String
    /// False when the run had no liveness phase and the checker needs one.
    public var ran: Bool
}
