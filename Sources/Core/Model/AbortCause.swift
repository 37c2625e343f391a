/// Why a task was aborted, as data: the checkers judge an abort by its cause (is completion
/// really impossible?), and the client sees `reason`, the cause in words.
///
/// The roles abort only for causes that retrying cannot fix. Transient trouble (a crashed
/// proxy, a full worker queue, an LLM outage of minutes, a lost message) never aborts a task:
/// the task waits and is retried.
public enum AbortCause: Codable, Hashable, Sendable {
    /// The stored task does not parse or validate: no owner can ever run it.
    case invalidTask(detail: String)
    /// Every attempt of a round chose a winning sample without the section it needed.
    /// `winners` holds the digest (`StableDigest.hex`) of each failed attempt's winning answer,
    /// so a checker can confirm the LLM really sent those malformed answers.
    case malformedAnswers(node: String, round: Int, winners: [String])
    /// The LLM refused the node's calls with an error that retrying cannot fix (a 4xx other
    /// than 429), in every attempt of a round.
    case llmRejected(node: String, status: Int, message: String)
    /// The node's calls failed with retryable errors, without one success, for the owner's
    /// whole `llmUnavailableAfter` budget: from `since` to the abort.
    case llmUnavailable(node: String, since: Instant, failures: Int)
    /// No region was live for the gateway's whole `noRegionAfter` budget, from `since`.
    case noRegion(since: Instant)

    /// The cause in words, as stored in the task's `reason` and shown to clients.
    public var reason: String {
        switch self {
        case .invalidTask(let detail):
            "the stored task is invalid: \(detail)"
        case .malformedAnswers(let node, let round, let winners):
            "node '\(node)' failed: round \(round) failed \(winners.count) time(s); the winning answer lacked the required section each time"
        case .llmRejected(let node, let status, let message):
            "node '\(node)' failed: the LLM refused its calls with HTTP \(status): \(message)"
        case .llmUnavailable(let node, let since, let failures):
            "node '\(node)' failed: the LLM failed \(failures) call(s) and answered none since t=\(since.milliseconds) ms"
        case .noRegion(let since):
            "no region was live since t=\(since.milliseconds) ms"
        }
    }

    /// A short name for reports.
    public var kind: String {
        switch self {
        case .invalidTask: "invalid_task"
        case .malformedAnswers: "malformed_answers"
        case .llmRejected: "llm_rejected"
        case .llmUnavailable: "llm_unavailable"
        case .noRegion: "no_region"
        }
    }
}
