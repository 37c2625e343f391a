// Cassettes: recorded LLM calls that answer a run's calls again, as agent SDKs replay recorded
// conversations in their tests. A cassette is what a run sent (the canonical request) and what
// came back (status, answer, latency); a call whose request was recorded gets the recorded
// answer, in recording order when the same request was sent several times (a round's samples
// share one prompt). Pure: the entries come in and go out as values; files are the shells'.

/// A request as a cassette matches it: the messages, the stop sequences and the token limit.
/// The model, temperature and labels are left out, so a recording made against one endpoint
/// answers a run against another, and so is any secret a header carried (none is ever read).
public struct CassetteRequest: Codable, Hashable, Sendable {
    public struct Message: Codable, Hashable, Sendable {
        public var role: String
        public var content: String
    }

    public var messages: [Message]
    public var stop: [String]
    public var maxTokens: Int?

    enum CodingKeys: String, CodingKey {
        case messages, stop
        case maxTokens = "max_tokens"
    }

    public init(_ request: ChatRequest) {
        messages = request.messages.map { Message(role: $0.role, content: $0.content) }
        stop = request.stop
        maxTokens = request.maxTokens
    }

    /// The request's stable key (FNV-1a over every field, length-prefixed): 16 hex digits.
    public var key: String {
        var hash = FNV64()
        hash.combine(UInt64(messages.count))
        for message in messages {
            hash.combine(message.role)
            hash.combine(message.content)
        }
        hash.combine(UInt64(stop.count))
        for sequence in stop { hash.combine(sequence) }
        hash.combine(UInt64(bitPattern: Int64(maxTokens ?? -1)))
        let hex = String(hash.value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// One recorded call.
public struct CassetteEntry: Codable, Hashable, Sendable {
    public var key: String
    public var request: CassetteRequest
    /// The HTTP status: 200 with `answer`, else an error with `error`.
    public var status: Int
    public var answer: String?
    public var error: String?
    /// From the call's arrival to its answer, in the cluster's clock (real time times the
    /// speedup, or virtual time in the simulator).
    public var latencyMillis: Double
    /// The LLM endpoint that answered (`llm-1`, ...).
    public var endpoint: String?
    /// The call's task and graph node, when the caller labelled it.
    public var task: String?
    public var node: String?
    /// When the call was sent, in milliseconds of the recorder's clock: Unix time in a real run
    /// (comparable across its processes), virtual time in a simulated one. A request recorded
    /// several times answers in this order.
    public var atMillis: Double?

    enum CodingKeys: String, CodingKey {
        case key, request, status, answer, error, endpoint, task, node
        case latencyMillis = "latency_ms"
        case atMillis = "at_ms"
    }

    public init(
        request: CassetteRequest, status: Int, answer: String?, error: String?, latencyMillis: Double, endpoint: String? = nil, task: String? = nil,
        node: String? = nil, atMillis: Double? = nil
    ) {
        key = request.key
        self.request = request
        self.status = status
        self.answer = answer
        self.error = error
        self.latencyMillis = latencyMillis
        self.endpoint = endpoint
        self.task = task
        self.node = node
        self.atMillis = atMillis
    }
}

/// What a call that the cassette cannot answer does.
public enum CassetteMode: String, CaseIterable, Codable, Sendable {
    /// A miss fails: the call is answered with an error naming the difference, and the run fails.
    case strict
    /// A miss is answered by the fake LLM's generator.
    case fallback
    /// A miss is answered by the generator and its answer is added to the cassette.
    case record
}

/// What the cassette has for one call.
public enum CassetteLookup: Sendable {
    case hit(CassetteEntry)
    case miss(CassetteMiss)
}

/// A call no recorded answer matched, with how it differs from the nearest recorded request.
public struct CassetteMiss: Codable, Hashable, Sendable, CustomStringConvertible {
    public var request: CassetteRequest
    public var task: String?
    public var node: String?
    /// The first difference from the nearest recorded request, or why there is none.
    public var difference: String

    public var description: String {
        let label = [task.map { "task \($0)" }, node.map { "node \($0)" }].compactMap { $0 }.joined(separator: ", ")
        return "no recorded answer for request \(request.key)\(label.isEmpty ? "" : " (\(label))"): \(difference)"
    }
}

/// The recorded calls of one run, answering another. Shared by every endpoint of a run (its
/// answers are handed out in order across them), so a reference; used only from one actor (the
/// real fake LLM's) or from the single-threaded simulation, never from two threads at once.
public final class Cassette: @unchecked Sendable {
    public let mode: CassetteMode
    /// Every recorded call; `answers` and `votes` index it, `consumed` says which were used.
    private var entries: [CassetteEntry] = []
    private var consumed: [Bool] = []
    /// Recorded calls by request key, each request's in the order they were sent.
    private var answers: [String: [Int]] = [:]
    /// Recorded votes by their order-free key (`VoteForm`): a vote whose choices came in
    /// another order (the round's samples finished in another order) is still this vote.
    private var votes: [String: [Int]] = [:]
    /// Every distinct recorded request, in recording order (for the nearest request of a miss).
    private var requests: [CassetteRequest] = []
    public private(set) var matched = 0
    /// Of `matched`, the votes matched with their choices in another order (the recorded
    /// answer's choice number renumbered to the same choice).
    public private(set) var matchedReordered = 0
    public private(set) var misses: [CassetteMiss] = []
    public private(set) var missCount = 0
    private var missedKeys: Set<String> = []
    /// Record mode: the answers the generator gave to misses, to be added to the cassette.
    public private(set) var recorded: [CassetteEntry] = []

    /// The request labels (metadata) that name a call's task and graph node: the real shell
    /// sends them to its own fake LLM, the simulator's endpoints read them the same way.
    public static let taskLabel = "agentos_task"
    public static let nodeLabel = "agentos_node"

    /// Where a live server sends each recorded answer and each miss as it happens (nil: kept
    /// in `recorded` and `misses` for the caller to read after the run).
    public var recordSink: (@Sendable (CassetteEntry) -> Void)?
    public var missSink: (@Sendable (CassetteMiss) -> Void)?

    /// Misses kept with their difference (the first of each request); the rest are only counted.
    public static let missesKept = 20

    public init(entries recorded: [CassetteEntry], mode: CassetteMode) {
        self.mode = mode
        // A request's answers in the order the calls were sent (a round's samples share one
        // prompt, and a recording from several processes interleaves them by when each ended).
        entries = recorded.enumerated().sorted { a, b in
            (a.element.atMillis ?? .infinity, a.offset) < (b.element.atMillis ?? .infinity, b.offset)
        }.map(\.element)
        consumed = Array(repeating: false, count: entries.count)
        var seen: Set<String> = []
        for entry in recorded where seen.insert(entry.key).inserted { requests.append(entry.request) }
        let forms = entries.map { VoteForm($0.request) }
        for (index, entry) in entries.enumerated() {
            answers[entry.key, default: []].append(index)
            if let form = forms[index] { votes[form.key, default: []].append(index) }
        }
    }

    public var entryCount: Int { entries.count }

    /// The next recorded answer to `request`, or a miss (counted, and kept with its
    /// difference from the nearest recorded request).
    public func lookup(_ request: ChatRequest) -> CassetteLookup {
        let canonical = CassetteRequest(request)
        let key = canonical.key
        let difference: String
        if let recorded = answers[key] {
            if let index = recorded.first(where: { !consumed[$0] && entries[$0].request == canonical }) {
                consumed[index] = true
                matched += 1
                return .hit(entries[index])
            }
            if let form = VoteForm(canonical), let hit = reorderedVote(form) { return .hit(hit) }
            difference = "the request was recorded \(recorded.count) time(s) and this is call \(recorded.count + 1) of it"
        } else if let form = VoteForm(canonical), let hit = reorderedVote(form) {
            return .hit(hit)
        } else {
            difference = nearestDifference(canonical)
        }
        let miss = CassetteMiss(
            request: canonical, task: request.metadata?[Cassette.taskLabel], node: request.metadata?[Cassette.nodeLabel], difference: difference)
        missCount += 1
        // One kept miss per request: a retried call misses again the same way.
        if misses.count < Self.missesKept, missedKeys.insert(key).inserted { misses.append(miss) }
        missSink?(miss)
        return .miss(miss)
    }

    /// A recorded vote over the same choices in another order, its answer renumbered so it
    /// names the same choice in this order.
    private func reorderedVote(_ form: VoteForm) -> CassetteEntry? {
        guard let index = votes[form.key]?.first(where: { !consumed[$0] }), let recordedForm = VoteForm(entries[index].request) else { return nil }
        consumed[index] = true
        matched += 1
        matchedReordered += 1
        var entry = entries[index]
        entry.answer = entry.answer.map { form.renumber($0, from: recordedForm) }
        return entry
    }

    /// Record mode: the generator's answer to a miss.
    public func record(_ entry: CassetteEntry) {
        if let recordSink { return recordSink(entry) }
        recorded.append(entry)
    }

    /// The first difference between `request` and the recorded request that shares the
    /// longest prefix with it (messages first, then the stop sequences and the token limit).
    func nearestDifference(_ request: CassetteRequest) -> String {
        guard !requests.isEmpty else { return "the cassette is empty" }
        var best = requests[0]
        var bestScore = -1
        for candidate in requests {
            let score = Self.sharedPrefix(request, candidate)
            if score > bestScore { (best, bestScore) = (candidate, score) }
        }
        return "nearest recorded request \(best.key): " + Self.difference(request, from: best)
    }

    /// How much two requests share before they differ: whole equal messages count most, then
    /// the characters of the first unequal message.
    static func sharedPrefix(_ a: CassetteRequest, _ b: CassetteRequest) -> Int {
        var score = 0
        for (x, y) in zip(a.messages, b.messages) {
            if x == y {
                score += 1 << 40
                continue
            }
            if x.role == y.role { score += commonPrefixLength(x.content, y.content) }
            break
        }
        return score
    }

    /// The first field where `request` differs from `recorded`, in words.
    public static func difference(_ request: CassetteRequest, from recorded: CassetteRequest) -> String {
        for (index, (mine, theirs)) in zip(request.messages, recorded.messages).enumerated() where mine != theirs {
            if mine.role != theirs.role { return "message \(index + 1) field role: '\(mine.role)', recorded '\(theirs.role)'" }
            let offset = commonPrefixLength(mine.content, theirs.content)
            return
                "message \(index + 1) field content differs at character \(offset + 1): \(excerpt(mine.content, at: offset)), recorded \(excerpt(theirs.content, at: offset))"
        }
        if request.messages.count != recorded.messages.count {
            return "\(request.messages.count) message(s), recorded \(recorded.messages.count)"
        }
        if request.stop != recorded.stop { return "field stop: \(request.stop), recorded \(recorded.stop)" }
        if request.maxTokens != recorded.maxTokens {
            return "field max_tokens: \(request.maxTokens.map(String.init) ?? "none"), recorded \(recorded.maxTokens.map(String.init) ?? "none")"
        }
        return "no difference"
    }

    static func commonPrefixLength(_ a: String, _ b: String) -> Int {
        var count = 0
        for (x, y) in zip(a, b) {
            guard x == y else { break }
            count += 1
        }
        return count
    }

    /// Up to 40 characters of `text` from `offset`, quoted, with newlines shown as \n.
    static func excerpt(_ text: String, at offset: Int) -> String {
        let start = text.index(text.startIndex, offsetBy: min(offset, text.count))
        let piece = text[start...].prefix(40).replacingAll("\n", with: "\\n")
        return start == text.endIndex ? "(end of message)" : "'\(piece)\(text[start...].count > 40 ? "..." : "")'"
    }
}

extension Substring {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
