import Foundation
import Testing

@testable import FakeLLM

@Suite("Fake LLM continuous batching")
struct BatchingTests {
    /// Every call: 100 output tokens at 1 ms, no first-token delay, no prefill unless asked.
    func batching(slowdown: Int64, concurrency: Int = 8, prefill: Int64 = 0, choiceTokens: Int64 = 0) -> FakeLLMConfig {
        config(.perfect) {
            $0.latency = LatencyProfile(
                firstTokenNanos: IntRange(0, 0), perTokenNanos: IntRange(1_000_000, 1_000_000), tailChance: .never, tailFactor: 1,
                generationTokens: IntRange(100, 100), votingTokens: IntRange(100, 100))
            $0.capacity = CapacityProfile(concurrency: concurrency, queueLimit: 4, requestsPerMinute: nil, tokensPerMinute: nil)
            $0.batching = BatchingModel(slowdownPerMille: slowdown, prefillNanosPerToken: prefill, choiceTokens: choiceTokens)
        }
    }

    func wakeTime(_ actions: [EndpointAction]) -> Int64? {
        for case .wake(let at) in actions { return at.nanoseconds }
        return nil
    }

    func answered(_ actions: [EndpointAction]) -> [UInt64] {
        actions.compactMap { if case .answer(let id, .success?, _) = $0 { id } else { nil } }
    }

    @Test("a call alone in the batch takes exactly its work: 100 tokens at 1 ms")
    func loneCall() {
        var endpoint = FakeLLMEndpoint(config: batching(slowdown: 1000))
        var random = SeededSource(seed: 1)
        let start = endpoint.receive(generationRequest(), id: 1, now: .zero, random: &random)
        #expect(wakeTime(start) == 100_000_000)
        #expect(answered(endpoint.wake(now: .nanoseconds(99_999_999))).isEmpty, "not done a nanosecond early")
        #expect(answered(endpoint.wake(now: .nanoseconds(100_000_000))) == [1])
        #expect(endpoint.inFlight == 0)
    }

    @Test("a call that joins slows the one running: each extra call doubles the time per token at 1000 per mille")
    func joinerSlowsTheBatch() {
        var endpoint = FakeLLMEndpoint(config: batching(slowdown: 1000))
        var random = SeededSource(seed: 2)
        _ = endpoint.receive(generationRequest(), id: 1, now: .zero, random: &random)
        // Half of call 1 is done at 50 ms; from then on both run at half speed.
        let joined = endpoint.receive(generationRequest(), id: 2, now: .nanoseconds(50_000_000), random: &random)
        #expect(wakeTime(joined) == 150_000_000, "call 1's last 50 ms of work take 100 ms in a batch of two")
        let first = endpoint.wake(now: .nanoseconds(150_000_000))
        #expect(answered(first) == [1])
        // Call 2 did 50 ms of work in the shared 100 ms; alone again, its last 50 ms take 50 ms.
        #expect(wakeTime(first) == 200_000_000)
        #expect(answered(endpoint.wake(now: .nanoseconds(200_000_000))) == [2])
    }

    @Test("with no slowdown a batch is as fast as independent slots")
    func noSlowdown() {
        var endpoint = FakeLLMEndpoint(config: batching(slowdown: 0))
        var random = SeededSource(seed: 3)
        _ = endpoint.receive(generationRequest(), id: 1, now: .zero, random: &random)
        let second = endpoint.receive(generationRequest(), id: 2, now: .zero, random: &random)
        #expect(wakeTime(second) == 100_000_000)
        #expect(answered(endpoint.wake(now: .nanoseconds(100_000_000))) == [1, 2], "answered in the order they joined")
    }

    @Test("calls beyond the batch size wait in order and join as calls leave; a full queue answers 503")
    func batchSizeAndQueue() {
        var endpoint = FakeLLMEndpoint(config: batching(slowdown: 0, concurrency: 1))
        var random = SeededSource(seed: 4)
        _ = endpoint.receive(generationRequest(), id: 1, now: .zero, random: &random)
        for id in 2...5 as ClosedRange<UInt64> { _ = endpoint.receive(generationRequest(), id: id, now: .zero, random: &random) }
        #expect(endpoint.queueDepth == 4)
        let refused = endpoint.receive(generationRequest(), id: 6, now: .zero, random: &random)
        #expect(refused.contains { if case .reject(6, let failure) = $0 { failure.status == 503 } else { false } })
        let next = endpoint.wake(now: .nanoseconds(100_000_000))
        #expect(answered(next) == [1])
        #expect(wakeTime(next) == 200_000_000, "call 2 starts when call 1 leaves")
        #expect(endpoint.queueDepth == 3)
    }

    @Test("prefill grows with the prompt, and a vote pays for the samples it reads")
    func prefill() {
        let generator = FakeLLMGenerator(config: batching(slowdown: 0, prefill: 1_000, choiceTokens: 500))
        var random = SeededSource(seed: 5)
        let short = generator.generate(generationRequest("Add."), callNumber: 1, now: .zero, random: &random).serviceNanos
        let long = generator.generate(generationRequest(String(repeating: "Add two numbers. ", count: 400)), callNumber: 2, now: .zero, random: &random)
            .serviceNanos
        #expect(long - short >= 1_000 * 1_600, "about 1,700 more prompt tokens at 1 µs each: \(long - short)")
        let vote = generator.generate(votingRequest(choices: 4), callNumber: 3, now: .zero, random: &random).serviceNanos
        #expect(vote >= 100_000_000 + 4 * 500 * 1_000, "four choices of 500 tokens each: \(vote)")
    }

    @Test("a configuration file switches batching on over a profile, and the fitted profile overrides field by field")
    func configuration() throws {
        let on = try JSONDecoder().decode(
            FakeLLMConfig.self, from: Data(#"{"profile": "realistic", "batching": {"slowdownPerMille": 40, "prefillNanosPerToken": 0, "choiceTokens": 0}}"#.utf8))
        #expect(on.batching?.slowdownPerMille == 40)
        let fitted = try JSONDecoder().decode(FakeLLMConfig.self, from: Data(#"{"profile": "vllm-llama-8b", "batching": {"slowdownPerMille": 5}}"#.utf8))
        #expect(fitted.batching?.slowdownPerMille == 5)
        #expect(fitted.batching?.choiceTokens == FakeLLMProfile.vllmLlama8b.config.batching?.choiceTokens)
        #expect(FakeLLMProfile.realistic.config.batching == nil, "the older profiles keep independent slots")
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(FakeLLMConfig.self, from: Data(#"{"profile": "vllm-llama-8b", "batching": {"slowdownPerMille": -1}}"#.utf8))
        }
    }
}
