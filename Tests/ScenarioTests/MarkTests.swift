import Checks
import Core
import Foundation
@testable import Scenarios
import Testing

/// Marks: the named protocol moments a run reaches, counted off its history.
@Suite("Marks")
struct MarkTests {
    let owner = Owner(proxy: .proxy(region: 1, index: 1), incarnation: 1)

    @Test("every mark has its own kebab-case name and a summary, and is found again by its name")
    func registryIsWellFormed() {
        #expect(Mark.allCases.count >= 40)
        #expect(Set(Mark.allCases.map(\.name)).count == Mark.allCases.count)
        for mark in Mark.allCases {
            #expect(mark.name.allSatisfy { $0.isLowercase || $0 == "-" }, "\(mark.name)")
            #expect(!mark.summary.isEmpty && mark.summary.hasSuffix("."), "\(mark.name)")
            #expect(Mark(name: mark.name) == mark)
        }
        #expect(Mark(name: "no-such-mark") == nil)
    }

    @Test("the store's verdicts on claims and saves reach the claim and zombie marks, and a repeat is not a win")
    func storeVerdicts() {
        var tracker = MarkTracker()
        let claim = WriteKind.claim(region: .region(1), owner: owner)
        tracker.observe(.core(.write(task: 1, request: claim, epoch: Epoch(global: 1, regional: 1), before: nil, outcome: .applied(current: Epoch(global: 1, regional: 1), repeated: false))))
        tracker.observe(.core(.write(task: 1, request: claim, epoch: Epoch(global: 1, regional: 1), before: nil, outcome: .applied(current: Epoch(global: 1, regional: 1), repeated: true))))
        tracker.observe(.core(.write(task: 1, request: claim, epoch: Epoch(global: 1, regional: 1), before: nil, outcome: .rejected(current: Epoch(global: 1, regional: 1), reason: .notNewer))))
        tracker.observe(.core(.write(task: 1, request: .progress(node: "n1", resultDigest: "d", inputDigest: "i"), epoch: Epoch(global: 1, regional: 1), before: nil, outcome: .rejected(current: Epoch(global: 1, regional: 2), reason: .staleEpoch))))
        #expect(tracker.count(.claimWon) == 1 && tracker.count(.claimRepeated) == 1 && tracker.count(.claimRefusedNotNewer) == 1)
        #expect(tracker.count(.zombieWriteRefused) == 1)
        #expect(tracker.count(.proxyFailoverClaim) == 0 && tracker.count(.regionFailoverClaim) == 0)
        #expect(tracker.byName == ["claim-won": 1, "claim-repeated": 1, "claim-refused-not-newer": 1, "zombie-write-refused": 1])
    }

    @Test("a claim by a newer owner while the old owner's checkpoint write is unanswered is an eviction with a save in flight; after the answer it is not")
    func evictionWithSaveInFlight() {
        let proxy = owner.proxy
        let newer = WriteKind.claim(region: .region(1), owner: Owner(proxy: .proxy(region: 1, index: 2), incarnation: 1))
        let applied = WriteOutcome.applied(current: Epoch(global: 1, regional: 2), repeated: false)
        var tracker = MarkTracker()
        tracker.sent(.storeRequest(requestID: 7, .saveProgress(3, node: "n1", epoch: Epoch(global: 1, regional: 1), result: "r", inputDigest: "i")), from: proxy, to: .store)
        tracker.observe(.core(.write(task: 3, request: newer, epoch: Epoch(global: 1, regional: 2), before: Epoch(global: 1, regional: 1), outcome: applied)))
        #expect(tracker.count(.evictedWithSaveInFlight) == 1)

        var answered = MarkTracker()
        answered.sent(.storeRequest(requestID: 7, .saveProgress(3, node: "n1", epoch: Epoch(global: 1, regional: 1), result: "r", inputDigest: "i")), from: proxy, to: .store)
        #expect(answered.followsSaves)
        answered.sent(.storeReply(requestID: 7, .write(.applied(current: Epoch(global: 1, regional: 1), repeated: false))), from: .store, to: proxy)
        #expect(!answered.followsSaves)
        answered.observe(.core(.write(task: 3, request: newer, epoch: Epoch(global: 1, regional: 2), before: Epoch(global: 1, regional: 1), outcome: applied)))
        #expect(answered.count(.evictedWithSaveInFlight) == 0 && answered.count(.proxyFailoverClaim) == 1)
    }

    @Test("an LLM call sent by a worker's retry timer and then answered is a retry that succeeded; a first attempt answered is not")
    func retrySucceeded() {
        let worker = owner.proxy
        let request = LLMRequest(id: 40, prompt: "p", stop: [], maxTokens: 8)
        var tracker = MarkTracker()
        tracker.sent(.llmRequest(request), from: worker, to: .llm(1))
        tracker.sent(.llmReply(LLMReply(id: 40, result: .text("ok"))), from: .llm(1), to: worker)
        #expect(tracker.count(.llmRetrySucceeded) == 0)

        tracker.fired(.llmRetry(callID: 40), at: worker)
        var retry = request
        retry.id = 41
        tracker.sent(.llmRequest(retry), from: worker, to: .llm(1))
        tracker.sent(.llmReply(LLMReply(id: 41, result: .text("ok"))), from: .llm(1), to: worker)
        #expect(tracker.count(.llmRetrySucceeded) == 1)

        // A retry timer whose step sent nothing does not make the next call a retry.
        tracker.fired(.llmRetry(callID: 50), at: worker)
        tracker.delivered()
        retry.id = 51
        tracker.sent(.llmRequest(retry), from: worker, to: .llm(1))
        tracker.sent(.llmReply(LLMReply(id: 51, result: .text("ok"))), from: .llm(1), to: worker)
        #expect(tracker.count(.llmRetrySucceeded) == 1)
    }

    @Test("each named scenario reaches the marks it is built for in its first ten seeds", arguments: ["claim-storm", "late-writes", "rolling-kill", "power-loss", "admission"])
    func namedScenarioReachesItsMarks(name: String) throws {
        let required = try #require(ScenarioLibrary.requiredMarks(name))
        var reached = Set<String>()
        for seed: UInt64 in 1...10 {
            let report = try ScenarioRun(scenario: try ScenarioLibrary.scenario(named: name, seed: seed), seed: seed).execute()
            #expect(report.passed, "\(name) seed \(seed)")
            reached.formUnion(report.marks.keys)
            if required.allSatisfy({ reached.contains($0.name) }) { return }
        }
        #expect(Bool(false), "\(name) never reached \(required.filter { !reached.contains($0.name) }.map(\.name))")
    }

    @Test("counting marks never changes a run: with and without them a seed has the same hash, events and verdicts", arguments: ["late-writes", "power-loss", "swarm"])
    func countingChangesNothing(name: String) throws {
        let seed: UInt64 = 3
        let counted = try ScenarioRun(scenario: try ScenarioLibrary.scenario(named: name, seed: seed), seed: seed).execute()
        let uncounted = try ScenarioRun(scenario: try ScenarioLibrary.scenario(named: name, seed: seed), seed: seed)
        uncounted.countsMarks = false
        var report = try uncounted.execute()
        #expect(!counted.marks.isEmpty && report.marks.isEmpty)
        report.marks = counted.marks
        report.markFirstHits = counted.markFirstHits
        #expect(report == counted, "\(name) seed \(seed)")
    }

    @Test("every named scenario has required marks, and every required mark is a registered one")
    func everyScenarioHasRequiredMarks() throws {
        for name in ScenarioLibrary.names {
            let marks = try #require(ScenarioLibrary.requiredMarks(name), "\(name)")
            #expect(!marks.isEmpty, "\(name)")
        }
        #expect(ScenarioLibrary.requiredMarks("no-such-scenario") == nil)
    }
}
