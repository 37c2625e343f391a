/// A misformatted answer, one kind at a time.
public enum ContentFault: String, Codable, CaseIterable, Sendable {
    case missingPlan = "missing_plan"
    case missingOutput = "missing_output"
    case wrongCase = "wrong_case"
    case voteWithoutSentence = "vote_without_sentence"
    case voteOutOfRange = "vote_out_of_range"
    case multiDigitVote = "multi_digit_vote"
    case truncated
    case empty
    case garbage
}

/// A failure of the call itself rather than of its content.
public enum TransportFault: String, Codable, CaseIterable, Sendable {
    /// Answers HTTP 500.
    case error500 = "error_500"
    /// Never answers.
    case timeout
    /// Answers, `slowFactor` times later than it would have.
    case slow
    /// Inside an outage window: answers 500 at once.
    case outage
}

/// Everything one call produces, computed up front: what to answer (nil: never), and how long
/// the call occupies its slot on the endpoint.
public struct GeneratedCall: Hashable, Sendable {
    public let outcome: ChatOutcome?
    public let serviceNanos: Int64
    public let digest: UInt64
    public let kind: PromptKind
    public let contentFault: ContentFault?
    public let transportFault: TransportFault?
    /// Tokens the call counts against a tokens-per-minute limit.
    public let budgetTokens: Int

    /// The fault drawn for the call, by its raw name, if any.
    public var faultName: String? { contentFault?.rawValue ?? transportFault?.rawValue }
}

/// The pure answer function: configuration, request, the call's random stream and the
/// endpoint's clock in; answer and delays out. No clocks, no IO.
public struct FakeLLMGenerator: Sendable {
    public let config: FakeLLMConfig

    public init(config: FakeLLMConfig) { self.config = config }

    /// `facts`: the prompt's facts when the caller has read them already (they must be the
    /// request's, as `PromptFacts(request)` reads them).
    public func generate<R: RandomSource>(
        _ request: ChatRequest, callNumber: UInt64, now: Instant, random: inout R, facts: PromptFacts? = nil
    ) -> GeneratedCall {
        let facts = facts ?? PromptFacts(request)
        let digest = facts.digest
        let kind = facts.kind
        let promptTokens = facts.tokens
        let flakiness = config.flakiness
        let budgetTokens = promptTokens + (request.maxTokens ?? 2000)

        func failed(_ fault: TransportFault, _ failure: ChatFailure?, after nanos: Int64) -> GeneratedCall {
            GeneratedCall(
                outcome: failure.map { .failure($0) }, serviceNanos: nanos, digest: digest, kind: kind, contentFault: nil,
                transportFault: fault, budgetTokens: budgetTokens)
        }

        let firstToken = config.latency.firstTokenNanos.draw(&random)
        if config.outages.contains(where: { $0.start <= now.nanoseconds && now.nanoseconds < $0.end }) {
            return failed(.outage, .serverError("the model is unavailable (outage)"), after: firstToken)
        }
        if random.chance(flakiness.error500) {
            return failed(.error500, .serverError("internal error while generating"), after: firstToken)
        }

        // The simulated length of the answer, capped by max_tokens.
        let tokenRange = kind == .generation ? config.latency.generationTokens : config.latency.votingTokens
        var completionTokens = Int(tokenRange.draw(&random))
        var finishReason = "stop"
        if let maxTokens = request.maxTokens, completionTokens > maxTokens {
            completionTokens = maxTokens
            finishReason = "length"
        }
        var latency = firstToken + config.latency.perTokenNanos.draw(&random) * Int64(completionTokens)
        if let batching = config.batching {
            // Prefill: the prompt's own tokens, plus the long samples a vote reads.
            var choices: Int64 = 0
            if case .voting(let count) = kind { choices = Int64(count) }
            latency += batching.prefillNanosPerToken * (Int64(promptTokens) + choices * batching.choiceTokens)
        }
        if random.chance(config.latency.tailChance) { latency *= config.latency.tailFactor }

        if random.chance(flakiness.timeout) {
            return failed(.timeout, nil, after: latency)
        }
        var transportFault: TransportFault?
        if random.chance(flakiness.slow) {
            latency *= flakiness.slowFactor
            transportFault = .slow
        }

        let contentFault = drawContentFault(kind: kind, random: &random)
        var content = answer(kind: kind, digest: digest, fault: contentFault, random: &random)
        if let cut = earliestStop(in: content, stops: request.stop) {
            content = String(decoding: content.utf8.prefix(cut), as: UTF8.self)
        }
        if finishReason == "length", let budget = request.maxTokens, TokenEstimate.count(content) > budget {
            content = String(content.utf8.prefix(budget * 4)) ?? String(content.prefix(budget * 4))
        }

        let response = ChatResponse(
            id: "chatcmpl-\(String(digest, radix: 16))-\(callNumber)", object: "chat.completion",
            created: now.nanoseconds / 1_000_000_000, model: request.model.isEmpty ? config.model : request.model,
            choices: [.init(index: 0, message: ChatMessage(role: "assistant", content: content), finishReason: finishReason)],
            usage: .init(promptTokens: promptTokens, completionTokens: completionTokens, totalTokens: promptTokens + completionTokens))
        return GeneratedCall(
            outcome: .success(response), serviceNanos: latency, digest: digest, kind: kind, contentFault: contentFault,
            transportFault: transportFault, budgetTokens: budgetTokens)
    }

    /// At most one content fault per answer, drawn in a fixed order so the stream use is stable.
    private func drawContentFault<R: RandomSource>(kind: PromptKind, random: inout R) -> ContentFault? {
        let f = config.flakiness
        let candidates: [(ContentFault, Ratio)] =
            kind == .generation
            ? [(.missingPlan, f.missingPlan), (.missingOutput, f.missingOutput), (.wrongCase, f.wrongCase)]
            : [(.voteWithoutSentence, f.voteWithoutSentence), (.voteOutOfRange, f.voteOutOfRange), (.multiDigitVote, f.multiDigitVote)]
        for (fault, odds) in candidates + [(.truncated, f.truncated), (.empty, f.empty), (.garbage, f.garbage)]
        where random.chance(odds) {
            return fault
        }
        return nil
    }

    /// The answer text. Always starts with the digest tag of its prompt, except when the fault
    /// is `empty` or `garbage`.
    func answer<R: RandomSource>(kind: PromptKind, digest: UInt64, fault: ContentFault?, random: inout R) -> String {
        let tag = PromptDigest.tag(digest)
        // A per-call variant so that samples of one prompt differ, as temperature 0.7 makes them.
        let variant = String(random.next() & 0xFFFF_FFFF, radix: 16)
        var text: String
        switch kind {
        case .generation:
            let plan = "\(tag) plan-\(variant): split the task into steps, solve each, check against the hints."
            let output = "\(tag) result-\(variant)"
            switch fault {
            case .missingPlan: text = "Here is my answer.\nOUTPUT: \(output)"
            case .missingOutput: text = "PLAN: \(plan)\nThat is all."
            case .wrongCase: text = "plan: \(plan)\noutput: \(output)"
            default: text = "PLAN: \(plan)\nOUTPUT: \(output)"
            }
        case .voting(let choices):
            let pick = 1 + Int(random.below( UInt64(choices)))
            let reasoning = "\(tag) I compared all \(choices) choices for correctness and completeness."
            switch fault {
            case .voteWithoutSentence: text = "\(reasoning) Choice \(pick) looks strongest to me."
            case .voteOutOfRange: text = "\(reasoning) The best choice is \(choices + 1 + Int(random.below( 3)))"
            case .multiDigitVote:
                // Valid if there are ten or more choices; otherwise out of range. A parser that
                // reads only the last digit gets both wrong.
                let vote = choices >= 10 ? 10 + Int(random.below( UInt64(choices - 9))) : 10 + pick
                text = "\(reasoning) The best choice is \(vote)"
            default: text = "\(reasoning) The best choice is \(pick)"
            }
        }
        switch fault {
        case .truncated:
            let keep = max(1, text.count * Int(1 + random.below( 60)) / 100)
            text = String(text.prefix(keep))
        case .empty:
            text = ""
        case .garbage:
            text = (0..<8).map { _ in String(random.next(), radix: 36) }.joined(separator: "~")
        default:
            break
        }
        return text
    }

    /// The byte offset of the first stop sequence in `text`.
    private func earliestStop(in text: String, stops: [String]) -> Int? {
        stops.compactMap { ByteSearch.firstOffset(of: $0, in: text) }.min()
    }
}

// MARK: - Cassettes

extension FakeLLMGenerator {
    /// A recorded answer as this endpoint's call: the recorded status and text after the
    /// recorded latency, with no fault of the generator's (a recorded fault is in the text).
    public func replayed(_ entry: CassetteEntry, request: ChatRequest, callNumber: UInt64, now: Instant, facts: PromptFacts? = nil) -> GeneratedCall {
        let facts = facts ?? PromptFacts(request)
        let outcome: ChatOutcome?
        switch entry.status {
        case 200:
            let content = entry.answer ?? ""
            let completionTokens = max(1, content.utf8.count / 4)
            outcome = .success(
                ChatResponse(
                    id: "chatcmpl-\(entry.key)-\(callNumber)", object: "chat.completion", created: now.nanoseconds / 1_000_000_000,
                    model: request.model.isEmpty ? config.model : request.model,
                    choices: [.init(index: 0, message: ChatMessage(role: "assistant", content: content), finishReason: "stop")],
                    usage: .init(promptTokens: facts.tokens, completionTokens: completionTokens, totalTokens: facts.tokens + completionTokens)))
        case 0:
            outcome = nil  // recorded as never answered
        default:
            outcome = .failure(ChatFailure(status: entry.status, error: .init(message: entry.error ?? "HTTP \(entry.status)", type: "server_error")))
        }
        return GeneratedCall(
            outcome: outcome, serviceNanos: max(0, Int64((entry.latencyMillis * 1_000_000).rounded())), digest: facts.digest, kind: facts.kind,
            contentFault: nil, transportFault: nil, budgetTokens: facts.tokens + (request.maxTokens ?? 2000))
    }
}

extension GeneratedCall {
    /// The call as a cassette records it.
    public func entry(for request: ChatRequest, endpoint: String, at: Instant) -> CassetteEntry {
        let status: Int
        var answer: String?
        var error: String?
        switch outcome {
        case .success(let response)?:
            status = 200
            answer = response.content
        case .failure(let failure)?:
            status = failure.status
            error = failure.error.message
        case nil:
            status = 0
            error = "never answered"
        }
        return CassetteEntry(
            request: CassetteRequest(request), status: status, answer: answer, error: error, latencyMillis: Double(serviceNanos) / 1_000_000,
            endpoint: endpoint, task: request.metadata?[Cassette.taskLabel], node: request.metadata?[Cassette.nodeLabel], atMillis: Double(at.nanoseconds) / 1_000_000)
    }
}
