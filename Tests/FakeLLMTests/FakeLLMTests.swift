import Foundation
import Testing
@testable import FakeLLM

func generationRequest(_ task: String = "Write a function that adds two numbers.", stop: [String] = [], maxTokens: Int? = nil) -> ChatRequest {
    ChatRequest(
        model: "m",
        messages: [ChatMessage(role: "user", content: "Task: \(task)\nAnswer with PLAN: then OUTPUT:.")],
        maxTokens: maxTokens, stop: stop)
}

func votingRequest(choices: Int) -> ChatRequest {
    let listed = (1...choices).map { "Choice \($0): answer \($0)" }.joined(separator: "\n")
    return ChatRequest(
        model: "m", messages: [ChatMessage(role: "user", content: "Pick the best.\n\(listed)\nEnd with: The best choice is N")])
}

func config(_ profile: FakeLLMProfile, _ edit: (inout FakeLLMConfig) -> Void = { _ in }) -> FakeLLMConfig {
    var config = profile.config
    edit(&config)
    return config
}

@Suite("Fake LLM answers")
struct GeneratorTests {
    @Test("the same request and seed give the same answer and delay; another seed differs")
    func deterministicAnswers() {
        let generator = FakeLLMGenerator(config: FakeLLMProfile.flaky.config)
        var a = SeededSource(seed: 5)
        var b = SeededSource(seed: 5)
        var c = SeededSource(seed: 6)
        let first = generator.generate(generationRequest(), callNumber: 1, now: .zero, random: &a)
        let second = generator.generate(generationRequest(), callNumber: 1, now: .zero, random: &b)
        let other = generator.generate(generationRequest(), callNumber: 1, now: .zero, random: &c)
        #expect(first == second)
        #expect(first != other)
    }

    @Test("generation answers follow the PLAN/OUTPUT protocol and votes end with a valid choice")
    func protocolAnswers() {
        let generator = FakeLLMGenerator(config: FakeLLMProfile.perfect.config)
        var random = SeededSource(seed: 1)
        for _ in 0..<200 {
            guard case .success(let sample)? = generator.generate(generationRequest(), callNumber: 1, now: .zero, random: &random).outcome
            else { Issue.record("perfect failed"); return }
            #expect(sample.content.hasPrefix("PLAN: "))
            #expect(sample.content.contains("\nOUTPUT: "))
            guard case .success(let vote)? = generator.generate(votingRequest(choices: 5), callNumber: 2, now: .zero, random: &random).outcome
            else { Issue.record("perfect failed"); return }
            let number = Int(vote.content.components(separatedBy: "The best choice is ").last!)!
            #expect((1...5).contains(number))
        }
    }

    @Test("the perfect profile never fails, in content or transport")
    func perfectNeverFails() {
        var endpoint = FakeLLMEndpoint(config: FakeLLMProfile.perfect.config)
        var random = SeededSource(seed: 2)
        for id in 0..<2000 as Range<UInt64> {
            let request = id % 2 == 0 ? generationRequest("task \(id)") : votingRequest(choices: 3)
            let actions = endpoint.receive(request, id: id, now: .nanoseconds(Int64(id) * 1000), random: &random)
            guard case .complete(_, _, let outcome, _)? = actions.first, case .success? = outcome else {
                Issue.record("call \(id) did not succeed: \(actions)")
                return
            }
            _ = endpoint.finish(id: id, now: .nanoseconds(Int64(id) * 1000))
        }
        let call = FakeLLMGenerator(config: FakeLLMProfile.perfect.config).generate(generationRequest(), callNumber: 1, now: .zero, random: &random)
        #expect(call.contentFault == nil && call.transportFault == nil)
    }

    @Test("each flaky mode appears at its configured rate", arguments: ContentFault.allCases)
    func contentFaultRates(fault: ContentFault) {
        // One mode at 10%, the rest off: its observed rate must be within 1.5 points of 10%.
        var flakiness = FlakinessProfile.none
        switch fault {
        case .missingPlan: flakiness.missingPlan = .percent(10)
        case .missingOutput: flakiness.missingOutput = .percent(10)
        case .wrongCase: flakiness.wrongCase = .percent(10)
        case .voteWithoutSentence: flakiness.voteWithoutSentence = .percent(10)
        case .voteOutOfRange: flakiness.voteOutOfRange = .percent(10)
        case .multiDigitVote: flakiness.multiDigitVote = .percent(10)
        case .truncated: flakiness.truncated = .percent(10)
        case .empty: flakiness.empty = .percent(10)
        case .garbage: flakiness.garbage = .percent(10)
        }
        let generator = FakeLLMGenerator(config: config(.perfect) { $0.flakiness = flakiness })
        let voting = [.voteWithoutSentence, .voteOutOfRange, .multiDigitVote].contains(fault)
        var random = SeededSource(seed: 77)
        let calls = 10_000
        var hits = 0
        for _ in 0..<calls {
            let call = generator.generate(voting ? votingRequest(choices: 4) : generationRequest(), callNumber: 1, now: .zero, random: &random)
            guard case .success(let response)? = call.outcome else { continue }
            if call.contentFault == fault {
                hits += 1
                #expect(Self.shows(fault, in: response.content, choices: 4), "\(fault): \(response.content)")
            }
        }
        #expect(abs(hits - calls / 10) < 150, "\(fault): \(hits) of \(calls)")
    }

    /// What each fault looks like to a parser.
    static func shows(_ fault: ContentFault, in text: String, choices: Int) -> Bool {
        let vote = text.components(separatedBy: "The best choice is ").dropFirst().last.flatMap { Int($0) }
        switch fault {
        case .missingPlan: return !text.contains("PLAN:") && text.contains("OUTPUT:")
        case .missingOutput: return text.contains("PLAN:") && !text.contains("OUTPUT:")
        case .wrongCase: return text.contains("plan:") && !text.contains("PLAN:")
        case .voteWithoutSentence: return !text.contains("The best choice is")
        case .voteOutOfRange: return vote.map { $0 > choices } ?? false
        case .multiDigitVote: return vote.map { $0 >= 10 } ?? false
        case .truncated: return !text.contains("The best choice is") || !text.contains("OUTPUT:") || text.count < 60
        case .empty: return text.isEmpty
        case .garbage: return !text.contains("[digest")
        }
    }

    @Test("transport faults appear at their rates: 500s, timeouts that never answer, slow answers")
    func transportFaultRates() {
        var flakiness = FlakinessProfile.none
        flakiness.error500 = .percent(10)
        flakiness.timeout = .percent(10)
        flakiness.slow = .percent(10)
        flakiness.slowFactor = 50
        let generator = FakeLLMGenerator(config: config(.perfect) { $0.flakiness = flakiness })
        var random = SeededSource(seed: 8)
        var counts: [TransportFault: Int] = [:]
        for _ in 0..<10_000 {
            let call = generator.generate(generationRequest(), callNumber: 1, now: .zero, random: &random)
            if let fault = call.transportFault { counts[fault, default: 0] += 1 }
            switch call.transportFault {
            case .error500: #expect(call.outcome == .failure(.serverError("internal error while generating")))
            case .timeout: #expect(call.outcome == nil)
            case .slow: #expect(call.serviceNanos >= 50 * 5_000_000)
            default: #expect(call.serviceNanos <= 10_000_000)
            }
        }
        // 500s at 10% of all; timeouts at 10% of the 90% left; slow at 10% of the 81% left.
        #expect(abs(counts[.error500, default: 0] - 1000) < 150)
        #expect(abs(counts[.timeout, default: 0] - 900) < 150)
        #expect(abs(counts[.slow, default: 0] - 810) < 150)
    }

    @Test("answers are cut at the first stop string")
    func stopStrings() throws {
        let generator = FakeLLMGenerator(config: FakeLLMProfile.perfect.config)
        var random = SeededSource(seed: 3)
        guard case .success(let response)? = generator.generate(generationRequest(stop: ["OUTPUT:", "zzz"]), callNumber: 1, now: .zero, random: &random).outcome
        else { Issue.record("no answer"); return }
        #expect(response.content.hasPrefix("PLAN: "))
        #expect(!response.content.contains("OUTPUT"))
        #expect(response.finishReason == "stop")
    }

    @Test("max_tokens caps the completion and reports finish_reason length")
    func maxTokens() {
        let generator = FakeLLMGenerator(config: FakeLLMProfile.realistic.config)
        var random = SeededSource(seed: 4)
        guard case .success(let response)? = generator.generate(generationRequest(maxTokens: 5), callNumber: 1, now: .zero, random: &random).outcome
        else { Issue.record("no answer"); return }
        #expect(response.usage.completionTokens == 5)
        #expect(response.finishReason == "length")
        #expect(TokenEstimate.count(response.content) <= 5)
    }

    @Test("the digest embedded in an answer identifies its prompt")
    func digestIdentifiesPrompt() {
        let generator = FakeLLMGenerator(config: FakeLLMProfile.perfect.config)
        var random = SeededSource(seed: 9)
        for task in ["a", "b", "parent results: x=1"] {
            let request = generationRequest(task)
            guard case .success(let response)? = generator.generate(request, callNumber: 1, now: .zero, random: &random).outcome
            else { Issue.record("no answer"); return }
            #expect(PromptDigest.embedded(in: response.content) == PromptDigest.of(request.promptText))
        }
        #expect(PromptDigest.of("a") != PromptDigest.of("b"))
        #expect(PromptDigest.embedded(in: "no tag here") == nil)
    }

    @Test("latency is time to first token plus time per output token")
    func latencyModel() {
        let fixed = config(.perfect) {
            $0.latency = LatencyProfile(
                firstTokenNanos: IntRange(100, 100), perTokenNanos: IntRange(10, 10), tailChance: .never, tailFactor: 1,
                generationTokens: IntRange(7, 7), votingTokens: IntRange(3, 3))
        }
        var random = SeededSource(seed: 1)
        let generator = FakeLLMGenerator(config: fixed)
        #expect(generator.generate(generationRequest(), callNumber: 1, now: .zero, random: &random).serviceNanos == 170)
        #expect(generator.generate(votingRequest(choices: 2), callNumber: 1, now: .zero, random: &random).serviceNanos == 130)
    }

    @Test("the facts read in one pass from a user message equal those read from the framed prompt, and the raw digest is FNV-1a of the content")
    func promptFactsFromOnePass() {
        let contents = [
            "", "Choice 1: a\nChoice 2: b\nChoice 12: c", "Write PLAN: and OUTPUT:", "Choice 3:", "user: Choice 7: x",
            "naïve café — 日本語 🙂 Choice 2: é\nChoice 1: ü", String(repeating: "step <<result of step a>>\n", count: 300),
        ]
        for content in contents {
            let request = ChatRequest(model: "m", messages: [ChatMessage(role: "user", content: content)], maxTokens: 10, stop: [])
            let (facts, contentDigest) = PromptFacts.userMessage(content)
            #expect(facts == PromptFacts(request), "\(content.prefix(40))")
            #expect(contentDigest == FNV64.hash(content))
            let both = FNV64.hashes(of: content, andPrefixedBy: "pre ")
            #expect(both.plain == FNV64.hash(content))
            #expect(both.prefixed == FNV64.hash("pre " + content))
        }
        // An answer generated from facts read once is the answer generated from the request.
        let generator = FakeLLMGenerator(config: config(.flaky))
        for request in [votingRequest(choices: 4), generationRequest("task 9")] {
            var first = SeededSource(seed: 3)
            var second = SeededSource(seed: 3)
            let content = request.messages[0].content
            let direct = generator.generate(request, callNumber: 1, now: .zero, random: &first)
            let prepared = generator.generate(request, callNumber: 1, now: .zero, random: &second, facts: PromptFacts.userMessage(content).facts)
            #expect(direct == prepared)
        }
    }

    @Test("prompts are classified by their Choice listing")
    func promptClassification() {
        #expect(PromptKind.classify("Choice 1: a\nChoice 2: b\nChoice 12: c") == .voting(choices: 12))
        #expect(PromptKind.classify("Write PLAN: and OUTPUT:") == .generation)
        #expect(PromptKind.classify("Choice is yours") == .generation)
    }
}
