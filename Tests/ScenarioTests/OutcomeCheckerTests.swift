import Checks
@testable import Core
@testable import Scenarios
import Sim
import Testing

func record(_ id: TaskID, _ status: TaskStatus, plan: TaskPlan? = nil, result: String? = nil, reason: String? = nil) -> TaskRecord {
    TaskRecord(
        taskID: id, userID: 0, taskType: "t", epoch: e(1, 1), taskDescription: plan.map { CanonicalJSON.encode($0) } ?? "{}", ownerRegion: "r",
        ownerProxy: "p", status: status, result: result, reason: reason, requestDocumentID: nil, responseDocumentID: nil)
}

func llmCall(_ task: TaskID, _ node: String, answer: String? = nil, status: Int = 200, fault: String? = nil, parents: [ParentResult] = [])
    -> WorldObservation
{
    .llm(LLMCallRecord(
        task: task, node: node, kind: .generation, promptDigest: "0x1", parents: parents, answerDigest: answer.map { FNV64.hex(FNV64.hash($0)) },
        status: status, fault: fault))
}

func digest(_ text: String) -> String { FNV64.hex(FNV64.hash(text)) }

let diamond = TaskPlan(
    query: Query(taskName: "code_generation", taskDescription: "d", nRounds: 1, nSamples: 1, nVoters: 1),
    graph: TaskGraph(nodes: [GraphNode(id: "a"), GraphNode(id: "b"), GraphNode(id: "c", dependsOn: ["a", "b"])]))

@Suite("The checkers of what users see catch hand-made bad histories")
struct OutcomeCheckerTests {
    let context = CheckContext(clients: ["client-1"], healAt: Instant(nanoseconds: 100))

    @Test("8: an abort is justified only by what the trace shows")
    func justifiedAborts() {
        func aborted(_ cause: AbortCause, at time: Int64 = 0, llm: [WorldObservation] = []) -> [Violation] {
            var history = History()
            for call in llm { history.add("llm-1", call) }
            history.time = max(history.time, time)
            history.write(1, .abort(cause: cause), e(2, 0), before: e(1, 1))
            return history.run(JustifiedAbortChecker(context: context), snapshot: StoreSnapshot(tasks: [record(1, .aborted, plan: diamond)], progress: [:]))
        }
        let malformed = ["w1", "w2", "w3"].map { llmCall(1, "a", answer: $0, fault: "missing_output") }
        // Three attempts, each winner an answer the LLM really sent malformed: justified.
        #expect(aborted(.malformedAnswers(node: "a", round: 1, winners: ["w1", "w2", "w3"].map(digest)), llm: malformed).isEmpty)
        // The same claim about answers the LLM sent well-formed: a parser bug, not the model.
        let wellFormed = ["w1", "w2", "w3"].map { llmCall(1, "a", answer: $0) }
        let parser = aborted(.malformedAnswers(node: "a", round: 1, winners: ["w1", "w2", "w3"].map(digest)), llm: wellFormed)
        #expect(parser.first?.detail.contains("the LLM sent no malformed answer") == true, "\(parser)")
        // Giving up after one attempt, although the system retries a round three times.
        let hasty = aborted(.malformedAnswers(node: "a", round: 1, winners: [digest("w1")]), llm: malformed)
        #expect(hasty.first?.detail.contains("gave up after 1 attempt(s)") == true)
        // No region live: justified only for the whole budget, during the faults.
        #expect(aborted(.noRegion(since: .zero), at: 50).first?.detail.contains("less than the") == true)
        let late = CheckContext(clients: [], healAt: Instant(nanoseconds: 10), noRegionAfter: .nanoseconds(5))
        var history = History()
        history.time = 20
        history.write(1, .abort(cause: .noRegion(since: .zero)), e(2, 0), before: e(1, 1))
        #expect(history.run(JustifiedAbortChecker(context: late)).first?.detail.contains("regions serve after the heal") == true)
        // A refusal the LLM never sent; an invalid task that parses.
        #expect(aborted(.llmRejected(node: "a", status: 400, message: "bad")).first?.detail.contains("never refused") == true)
        #expect(aborted(.llmRejected(node: "a", status: 400, message: "bad"), llm: [llmCall(1, "a", status: 400)]).isEmpty)
        #expect(aborted(.invalidTask(detail: "x")).first?.detail.contains("the stored task parses") == true)
    }

    @Test("9: a client that never sees its task finish, sees another result, or is never answered")
    func clientOutcome() {
        var history = History()
        history.add("client-1", .client(.submitted(requestID: 1)))
        history.add("client-1", .client(.submitted(requestID: 2)))
        history.add("client-1", .client(.submitted(requestID: 3)))
        history.add("client-1", .client(.allSubmitted))
        history.add("client-1", .client(.acknowledged(requestID: 1, task: 1)))
        history.add("client-1", .client(.acknowledged(requestID: 2, task: 2)))
        history.add("client-1", .client(.status(task: 1, status: .running(epoch: Epoch(global: 1, regional: 1), saved: 0))))
        history.add("client-1", .client(.status(task: 2, status: .completed(result: "mine"))))
        let snapshot = StoreSnapshot(
            tasks: [record(1, .aborted, reason: "no region"), record(2, .completed, result: "stored")], progress: [:])
        let violations = history.run(ClientOutcomeChecker(context: context), snapshot: snapshot)
        #expect(violations.count == 3, "\(violations)")
        #expect(violations.contains { $0.detail == "request 3 of client-1 was never answered (neither acknowledged nor rejected)" })
        #expect(violations.contains { $0.detail == "client-1 never saw its task finish: it last saw running, the store says aborted" })
        #expect(violations.contains { $0.detail.hasPrefix("client-1 saw completed with result \(digest("mine")), but the store holds completed") })

        var good = History()
        good.add("client-1", .client(.submitted(requestID: 1)))
        good.add("client-1", .client(.allSubmitted))
        good.add("client-1", .client(.acknowledged(requestID: 1, task: 1)))
        good.add("client-1", .client(.status(task: 1, status: .aborted(reason: "no region"))))
        #expect(good.run(ClientOutcomeChecker(context: context), snapshot: StoreSnapshot(tasks: [record(1, .aborted, reason: "no region")], progress: [:])).isEmpty)
        #expect(History().run(ClientOutcomeChecker(context: context)).first?.detail == "client-1 had not sent all of its requests when the run ended")
    }

    @Test("10: one request acknowledged as two tasks, one task for two requests, a task no request asked for")
    func exactlyOnce() {
        var twice = History()
        twice.add("client-1", .client(.acknowledged(requestID: 1, task: 1)))
        twice.add("client-1", .client(.conflictingAck(requestID: 1, task: 2)))
        #expect(twice.run(ExactlyOnceChecker()).first?.detail == "request 1 of client-1 was acknowledged as task 1 and again as task 2")

        var shared = History()
        shared.add("client-1", .client(.acknowledged(requestID: 1, task: 1)))
        shared.add("client-2", .client(.acknowledged(requestID: 1, task: 1)))
        #expect(shared.run(ExactlyOnceChecker()).first?.detail == "task 1 was acknowledged to request 1 of client-1 and to request 1 of client-2")

        var ghost = History()
        ghost.add("client-1", .client(.acknowledged(requestID: 1, task: 1)))
        let snapshot = StoreSnapshot(tasks: [record(1, .completed), record(2, .completed)], progress: [:])
        let violations = ghost.run(ExactlyOnceChecker(), snapshot: snapshot)
        #expect(violations.count == 1)
        #expect(violations.first?.task == 2)
    }

    @Test("11: a prompt that leaves out a parent, embeds a wrong result, or a non-parent")
    func promptCorrectness() {
        let stored = [ProgressRecord(taskID: 1, nodeID: "a", epoch: e(1, 1), result: "A", inputDigest: ""),
                      ProgressRecord(taskID: 1, nodeID: "b", epoch: e(1, 1), result: "B", inputDigest: "")]
        let snapshot = StoreSnapshot(tasks: [record(1, .completed, plan: diamond)], progress: [1: stored])
        func check(_ parents: [ParentResult], node: String = "c") -> [Violation] {
            var history = History()
            history.add("llm-1", llmCall(1, node, parents: parents))
            return history.run(PromptChecker(), snapshot: snapshot)
        }
        let a = ParentResult(node: "a", resultDigest: digest("A"))
        let b = ParentResult(node: "b", resultDigest: digest("B"))
        #expect(check([a, b]).isEmpty)
        #expect(check([a]).first?.detail == "a prompt left out the result of parent(s) b")
        #expect(check([a, ParentResult(node: "b", resultDigest: digest("stale"))]).first?.detail.contains("embeds parent 'b' as") == true)
        #expect(check([a], node: "b").first?.detail == "a prompt embeds the result of a, which is not a parent")
    }

    @Test("11: the endpoint reads a prompt's parents from its text, multi-line results included")
    func promptReading() {
        let prompt = Prompts.generation(task: "t", parentResults: [("a", "line 1\nline 2"), ("b", "")], hints: "h")
        #expect(PromptReading.embeddedParents(prompt) == [ParentResult(node: "a", resultDigest: digest("line 1\nline 2")), ParentResult(node: "b", resultDigest: digest(""))])
        #expect(PromptReading.embeddedParents(Prompts.generation(task: "t", parentResults: [], hints: nil)).isEmpty)
    }

    @Test("11: the byte reader of a prompt's parents agrees with reading it line by line")
    func promptReadingMatchesLineReader() {
        let prompts = [
            Prompts.generation(task: "t", parentResults: [("a", "line 1\nline 2"), ("b", ""), ("c", "\n"), ("d", "é ☕️\n\nx")], hints: "h"),
            "<<result of step a>>\nA\n<<end of step a>>",
            "<<result of step a>>\nnever closed\n<<result of step b>>\nB\n<<end of step b>>",
            "<<result of step a>>\n<<result of step b>>\nX\n<<end of step b>>\n<<end of step a>>\n",
            "<<result of step >>\n<<end of step >>", "<<result of step x>>", "", "\n\n",
            "pre\n<<result of step q>>\n<<end of step q>>\n<<result of step r>>\n\n<<end of step r>>\npost",
        ]
        for prompt in prompts {
            #expect(PromptReading.embeddedParents(prompt) == lineReader(prompt), "\(prompt.debugDescription)")
        }
    }

    /// The reader as first written: split into lines, join each body's lines back.
    func lineReader(_ prompt: String) -> [ParentResult] {
        let openPrefix = Array("<<result of step ".utf8)
        let lines = prompt.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        var parents: [ParentResult] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            guard line.starts(with: openPrefix), line.last == UInt8(ascii: ">"), line.count > openPrefix.count + 2 else { continue }
            let name = String(decoding: line.dropFirst(openPrefix.count).dropLast(2), as: UTF8.self)
            var body: [String] = []
            var closed = false
            while index < lines.count {
                let next = String(decoding: lines[index], as: UTF8.self)
                index += 1
                if next == Prompts.parentClose(name) {
                    closed = true
                    break
                }
                body.append(next)
            }
            guard closed else { break }
            parents.append(ParentResult(node: name, resultDigest: digest(body.joined(separator: "\n"))))
        }
        return parents
    }

    @Test("12: a worker that drops a call it received, or answers it twice; a crash excuses it")
    func callAccounting() {
        var checker = CallAccountingChecker()
        var index: UInt64 = 0
        func feed(_ fact: MessageEvent.Fact) {
            index += 1
            checker.observeMessage(MessageEvent(index: index, time: Instant(nanoseconds: Int64(index)), fact: fact))
        }
        let work = { (id: UInt64) in LLMWork(callID: id, owner: "proxy-1-1", taskID: 1, kind: .generation, prompt: "p", stop: [], maxTokens: 1, totalCalls: 1, remainingHalfCalls: 1) }
        feed(.started(node: "proxy-1-2", incarnation: 1))
        for call in UInt64(1)...3 {
            feed(.sent(id: call, from: "proxy-1-1", to: "proxy-1-2", .llmWork(work(call))))
            feed(.delivered(id: call, to: "proxy-1-2"))
        }
        // Call 1 answered twice; call 2 dropped silently; call 3 held by a worker that then crashes.
        feed(.sent(id: 10, from: "proxy-1-2", to: "proxy-1-1", .llmWorkReply(callID: 1, result: .text("x"))))
        feed(.sent(id: 11, from: "proxy-1-2", to: "proxy-1-1", .llmWorkReply(callID: 1, result: .text("x"))))
        feed(.sent(id: 12, from: "proxy-1-1", to: "proxy-1-2", .llmWorkCheck(owner: "proxy-1-1", callIDs: [2])))
        feed(.delivered(id: 12, to: "proxy-1-2"))
        feed(.sent(id: 13, from: "proxy-1-2", to: "proxy-1-1", .llmWorkHeld(callIDs: [])))
        feed(.started(node: "proxy-1-2", incarnation: 2))
        feed(.sent(id: 14, from: "proxy-1-1", to: "proxy-1-2", .llmWorkCheck(owner: "proxy-1-1", callIDs: [3])))
        feed(.delivered(id: 14, to: "proxy-1-2"))
        feed(.sent(id: 15, from: "proxy-1-2", to: "proxy-1-1", .llmWorkHeld(callIDs: [])))
        let details = checker.violations.map(\.detail)
        #expect(details == [
            "proxy-1-2 answered call 1 of proxy-1-1 a second time",
            "proxy-1-2 received call 2 of proxy-1-1 and, without crashing, no longer held it, yet never answered it",
        ])
    }

    @Test("13: a run over its latency budget")
    func latency() {
        var history = History()
        history.add("client-1", .client(.finished(task: 1, latency: .nanoseconds(5_000_000_000), completed: true)))
        history.add("client-1", .client(.finished(task: 2, latency: .nanoseconds(20_000_000_000), completed: true)))
        let budget = LatencyBudget(p99: .seconds(30), max: .seconds(10))
        let violations = history.run(LatencyChecker(budget: budget))
        #expect(violations.count == 1)
        #expect(violations.first?.task == 2)
        #expect(history.run(LatencyChecker(budget: LatencyBudget(p99: .seconds(30), max: .seconds(30)))).isEmpty)
    }
}
