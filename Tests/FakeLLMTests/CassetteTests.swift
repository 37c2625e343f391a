import Foundation
import Testing

@testable import FakeLLM

@Suite("Cassettes: recorded LLM calls answer a run's calls again")
struct CassetteTests {
    func entry(_ request: ChatRequest, _ answer: String, latencyMillis: Double = 120) -> CassetteEntry {
        CassetteEntry(request: CassetteRequest(request), status: 200, answer: answer, error: nil, latencyMillis: latencyMillis)
    }

    @Test("a request's key ignores the model, temperature and labels, and changes with any message, stop sequence or token limit")
    func keyCoversWhatTheAnswerDependsOn() {
        var a = generationRequest(stop: ["OUTPUT:"], maxTokens: 100)
        var b = a
        b.model = "another-model"
        b.temperature = 0.2
        b.metadata = [Cassette.taskLabel: "7"]
        #expect(CassetteRequest(a).key == CassetteRequest(b).key)
        #expect(CassetteRequest(a).key.count == 16)
        for edit in [{ (r: inout ChatRequest) in r.messages[0].content += "!" }, { $0.stop = [] }, { $0.maxTokens = 101 }, { $0.messages[0].role = "system" }] {
            var changed = a
            edit(&changed)
            #expect(CassetteRequest(changed).key != CassetteRequest(a).key)
        }
        a.messages.append(ChatMessage(role: "user", content: ""))
        #expect(CassetteRequest(a).key != CassetteRequest(b).key, "an extra empty message is a different request")
    }

    @Test("the same request recorded several times is answered in recording order, and one call too many is a miss")
    func repeatedRequestsAnswerInOrder() {
        let request = generationRequest()
        let cassette = Cassette(entries: [entry(request, "first"), entry(request, "second")], mode: .strict)
        guard case .hit(let one) = cassette.lookup(request), case .hit(let two) = cassette.lookup(request) else {
            Issue.record("expected two hits")
            return
        }
        #expect(one.answer == "first" && two.answer == "second")
        guard case .miss(let miss) = cassette.lookup(request) else {
            Issue.record("a third call of a request recorded twice must miss")
            return
        }
        #expect(miss.difference.contains("recorded 2 time(s) and this is call 3"))
        #expect(cassette.matched == 2 && cassette.missCount == 1)
    }

    @Test("a miss names the first differing message, its field and the character where it differs, against the nearest recorded request")
    func missNamesTheFirstDifference() {
        let recorded = [
            entry(generationRequest("Write a function that adds two numbers."), "a"),
            entry(generationRequest("Sort a list of names."), "b"),
        ]
        let cassette = Cassette(entries: recorded, mode: .strict)
        guard case .miss(let miss) = cassette.lookup(generationRequest("Write a function that multiplies two numbers.")) else {
            Issue.record("a changed prompt must miss")
            return
        }
        #expect(miss.difference.hasPrefix("nearest recorded request \(recorded[0].key): message 1 field content differs at character 29"), "\(miss.difference)")
        #expect(miss.difference.contains("'multiplies two numbers"), "\(miss.difference)")
        #expect(miss.difference.contains("recorded 'adds two numbers"), "\(miss.difference)")
        var limited = generationRequest()
        limited.maxTokens = 64
        guard case .miss(let tokens) = cassette.lookup(limited) else {
            Issue.record("a changed token limit must miss")
            return
        }
        #expect(tokens.difference.hasSuffix("field max_tokens: 64, recorded none"), "\(tokens.difference)")
        guard case .miss(let empty) = Cassette(entries: [], mode: .strict).lookup(limited) else { return }
        #expect(empty.difference == "the cassette is empty")
    }

    @Test("an endpoint answers a hit with the recorded text after the recorded latency; strict misses get a 500, fallback and record misses the generator")
    func endpointModes() {
        let request = generationRequest()
        let other = generationRequest("Sort a list of names.")
        var random = SeededSource(seed: 1)
        for mode in CassetteMode.allCases {
            var endpoint = FakeLLMEndpoint(config: config(.perfect))
            let cassette = Cassette(entries: [entry(request, "PLAN: recorded\nOUTPUT: 42", latencyMillis: 250)], mode: mode)
            endpoint.cassette = cassette
            guard case .complete(_, let at, .success(let response)?, nil)? = endpoint.receive(request, id: 1, now: .zero, random: &random).first else {
                Issue.record("\(mode): a hit completes")
                return
            }
            #expect(response.content == "PLAN: recorded\nOUTPUT: 42")
            #expect(at == .zero + .milliseconds(250))
            let missed = endpoint.receive(other, id: 2, now: .zero, random: &random).first
            switch (mode, missed) {
            case (.strict, .reject(2, let failure)?):
                #expect(failure.status == 500 && failure.error.message.hasPrefix("cassette miss: no recorded answer"))
            case (.fallback, .complete(2, _, .success?, _)?), (.record, .complete(2, _, .success?, _)?):
                break
            default:
                Issue.record("\(mode): unexpected answer to a miss: \(String(describing: missed))")
            }
            #expect(cassette.recorded.count == (mode == .record ? 1 : 0))
            if mode == .record {
                #expect(cassette.recorded[0].request == CassetteRequest(other) && cassette.recorded[0].status == 200)
                #expect(Cassette(entries: cassette.recorded, mode: .strict).lookup(other).isHit, "what record mode added answers the next run")
            }
        }
    }

    @Test("a recorded error answers as that error; a call recorded as never answered never answers")
    func recordedFailures() {
        let request = generationRequest()
        let failed = CassetteEntry(request: CassetteRequest(request), status: 429, answer: nil, error: "slow down", latencyMillis: 5)
        let silent = CassetteEntry(request: CassetteRequest(request), status: 0, answer: nil, error: "never answered", latencyMillis: 9000)
        var endpoint = FakeLLMEndpoint(config: config(.perfect))
        endpoint.cassette = Cassette(entries: [failed, silent], mode: .strict)
        var random = SeededSource(seed: 1)
        guard case .complete(_, _, .failure(let failure)?, _)? = endpoint.receive(request, id: 1, now: .zero, random: &random).first else {
            Issue.record("expected the recorded 429")
            return
        }
        #expect(failure.status == 429 && failure.error.message == "slow down")
        guard case .complete(_, _, nil, _)? = endpoint.receive(request, id: 2, now: .zero, random: &random).first else {
            Issue.record("expected a call that never answers")
            return
        }
    }
}

extension CassetteLookup {
    var isHit: Bool { if case .hit = self { true } else { false } }
}
