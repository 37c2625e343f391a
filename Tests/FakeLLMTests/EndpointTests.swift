import Foundation
import Testing
@testable import FakeLLM

@Suite("Fake LLM endpoint: capacity, rate limits, outages, config")
struct EndpointTests {
    @Test("calls beyond the concurrency limit queue, start as slots free, and a full queue answers 503")
    func concurrencyAndQueue() {
        var endpoint = FakeLLMEndpoint(config: config(.perfect) {
            $0.capacity = CapacityProfile(concurrency: 2, queueLimit: 1, requestsPerMinute: nil, tokensPerMinute: nil)
        })
        var random = SeededSource(seed: 1)
        let a = endpoint.receive(generationRequest(), id: 1, now: .zero, random: &random)
        let b = endpoint.receive(generationRequest(), id: 2, now: .zero, random: &random)
        let c = endpoint.receive(generationRequest(), id: 3, now: .zero, random: &random)
        let d = endpoint.receive(generationRequest(), id: 4, now: .zero, random: &random)
        #expect(a.count == 1 && b.count == 1)
        #expect(c.isEmpty, "the third call waits")
        #expect(endpoint.queueDepth == 1)
        guard case .reject(4, let failure)? = d.first else { Issue.record("expected a 503, got \(d)"); return }
        #expect(failure.status == 503)
        let started = endpoint.finish(id: 1, now: .nanoseconds(1_000))
        guard case .complete(3, let at, .success?, _)? = started.first else { Issue.record("expected call 3 to start: \(started)"); return }
        #expect(at > .nanoseconds(1_000))
        #expect(endpoint.inFlight == 2)
    }

    @Test("429s appear once the tokens-per-minute budget is spent and stop after the window")
    func tokensPerMinute() {
        var endpoint = FakeLLMEndpoint(config: config(.perfect) {
            $0.capacity = CapacityProfile(concurrency: 100, queueLimit: 100, requestsPerMinute: nil, tokensPerMinute: 1000)
        })
        var random = SeededSource(seed: 2)
        let request = generationRequest(maxTokens: 300)
        var accepted = 0
        var retryAfter: Int64 = 0
        for id in 0..<10 as Range<UInt64> {
            let actions = endpoint.receive(request, id: id, now: .nanoseconds(10_000_000_000), random: &random)
            switch actions.first {
            case .complete?: accepted += 1
            case .reject(_, let failure)?:
                #expect(failure.status == 429)
                #expect(failure.error.code == "rate_limit_exceeded")
                retryAfter = failure.retryAfter?.nanoseconds ?? 0
            case nil: Issue.record("no action")
            case .wake?, .answer?: Issue.record("no batching here")
            }
        }
        #expect(accepted == 3, "three calls of ~320 tokens fit in 1000")
        #expect(retryAfter == 50_000_000_000, "retry after the end of the minute")
        let nextWindow = endpoint.receive(request, id: 99, now: .nanoseconds(60_000_000_000), random: &random)
        guard case .complete? = nextWindow.first else { Issue.record("the next window must accept: \(nextWindow)"); return }
    }

    @Test("requests-per-minute limits answer 429 too")
    func requestsPerMinute() {
        var endpoint = FakeLLMEndpoint(config: config(.perfect) {
            $0.capacity = CapacityProfile(concurrency: 100, queueLimit: 100, requestsPerMinute: 2, tokensPerMinute: nil)
        })
        var random = SeededSource(seed: 3)
        let outcomes = (0..<3 as Range<UInt64>).map { endpoint.receive(generationRequest(), id: $0, now: .zero, random: &random).first }
        guard case .reject(2, let failure)?? = outcomes.last else { Issue.record("\(outcomes)"); return }
        #expect(failure.status == 429)
    }

    @Test("every call inside an outage window fails with 500, and calls after it succeed")
    func outageWindow() {
        var endpoint = FakeLLMEndpoint(config: config(.perfect) { $0.outages = [OutageWindow(start: 100, end: 200)] })
        var random = SeededSource(seed: 4)
        for (id, now) in [(UInt64(1), Int64(150)), (2, 199)] {
            guard case .complete(_, _, .failure(let failure)?, _)? = endpoint.receive(generationRequest(), id: id, now: .nanoseconds(now), random: &random).first
            else { Issue.record("expected an outage failure"); return }
            #expect(failure.status == 500)
        }
        guard case .complete(_, _, .success?, _)? = endpoint.receive(generationRequest(), id: 3, now: .nanoseconds(200), random: &random).first
        else { Issue.record("expected success after the outage"); return }
    }

    @Test("a malformed request is refused with a 400 in OpenAI's error shape")
    func malformedRequests() throws {
        var endpoint = FakeLLMEndpoint(config: FakeLLMProfile.perfect.config)
        var random = SeededSource(seed: 5)
        let cases: [ChatRequest] = [
            ChatRequest(model: "m", messages: []),
            ChatRequest(model: "", messages: [ChatMessage(role: "user", content: "x")]),
            ChatRequest(model: "m", messages: [ChatMessage(role: "robot", content: "x")]),
            ChatRequest(model: "m", messages: [ChatMessage(role: "user", content: "x")], maxTokens: 0),
            ChatRequest(model: "m", messages: [ChatMessage(role: "user", content: "x")], stop: ["a", "b", "c", "d", "e"]),
        ]
        for request in cases {
            guard case .reject(_, let failure)? = endpoint.receive(request, id: 1, now: .zero, random: &random).first else {
                Issue.record("accepted \(request)")
                continue
            }
            #expect(failure.status == 400)
            #expect(failure.error.type == "invalid_request_error")
            let body = String(decoding: try JSONEncoder().encode(failure.responseBody), as: UTF8.self)
            #expect(body.hasPrefix("{\"error\":{"))
        }
    }

    @Test("a stop given as one string decodes like a list")
    func stopAsString() throws {
        let request = try JSONDecoder().decode(
            ChatRequest.self, from: Data(#"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"END","max_tokens":9}"#.utf8))
        #expect(request.stop == ["END"])
        #expect(request.maxTokens == 9)
    }

    @Test("a config names a profile and overrides single knobs, nested ones included")
    func profileOverrides() throws {
        let json = #"{"profile": "flaky", "capacity": {"concurrency": 4}, "flakiness": {"timeout": [0, 1]}, "outages": [{"start": 5, "end": 9}]}"#
        let decoded = try JSONDecoder().decode(FakeLLMConfig.self, from: Data(json.utf8))
        var expected = FakeLLMProfile.flaky.config
        expected.capacity.concurrency = 4
        expected.flakiness.timeout = .never
        expected.outages = [OutageWindow(start: 5, end: 9)]
        #expect(decoded == expected)
        #expect(try JSONDecoder().decode(FakeLLMConfig.self, from: Data("{}".utf8)) == FakeLLMProfile.realistic.config)
        // A limit the profile leaves unset can be set, and one it sets can be lifted.
        let limits = #"{"profile": "perfect", "capacity": {"tokensPerMinute": 2500}}"#
        #expect(try JSONDecoder().decode(FakeLLMConfig.self, from: Data(limits.utf8)).capacity.tokensPerMinute == 2500)
        let lifted = #"{"profile": "overloaded", "capacity": {"requestsPerMinute": null}}"#
        #expect(try JSONDecoder().decode(FakeLLMConfig.self, from: Data(lifted.utf8)).capacity.requestsPerMinute == nil)
    }

    @Test("a bad config names the problem: unknown profile, unknown knob, wrong type, impossible value")
    func badConfigs() {
        let cases = [
            (#"{"profile": "fast"}"#, "unknown fake LLM profile 'fast'"),
            (#"{"capacity": {"concurency": 4}}"#, "unknown field 'concurency'"),
            (#"{"capacity": {"concurrency": "four"}}"#, "capacity.concurrency"),
            (#"{"capacity": {"concurrency": 0}}"#, "capacity.concurrency must be at least 1"),
            (#"{"flakiness": {"timeout": [3, 2]}}"#, "ratio [3, 2]"),
        ]
        for (json, message) in cases {
            do {
                _ = try JSONDecoder().decode(FakeLLMConfig.self, from: Data(json.utf8))
                Issue.record("accepted \(json)")
            } catch {
                #expect(String(describing: error).contains(message), "\(json): \(error)")
            }
        }
    }

    @Test("every named profile is valid and round-trips through JSON")
    func profilesRoundTrip() throws {
        for profile in FakeLLMProfile.allCases {
            try profile.config.validate()
            let data = try JSONEncoder().encode(profile.config)
            #expect(try JSONDecoder().decode(FakeLLMConfig.self, from: data) == profile.config)
        }
    }
}
