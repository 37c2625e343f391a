import Foundation
import Testing
@testable import Core
import CoreTesting

func work(_ id: UInt64, task: TaskID, total: Int = 10, remaining: Int = 10) -> LLMWork {
    LLMWork(callID: id, owner: "owner", taskID: task, kind: .generation, prompt: "p\(id)", stop: [], maxTokens: 100, totalCalls: total, remainingHalfCalls: remaining)
}

func sentPrompts(_ effects: [CoreEffect]) -> [String] {
    effects.compactMap { if case .send("llm", .llmRequest(let request)) = $0 { request.prompt } else { nil } }
}

func requestIDs(_ effects: [CoreEffect]) -> [UInt64] {
    effects.compactMap { if case .send("llm", .llmRequest(let request)) = $0 { request.id } else { nil } }
}

@Suite("LLM worker: queue, scheduling, timeouts and retries")
struct WorkerTests {
    /// One slot; call 1 takes it, the rest queue; then each completion lets the policy pick.
    func order(_ policy: SchedulingPolicy, _ works: [LLMWork]) -> [String] {
        var worker = LLMWorker(settings: LLMWorkerSettings(queueCapacity: 10, concurrency: 1, scheduling: policy), endpoint: "llm", incarnation: 1)
        var effects: [CoreEffect] = []
        for item in works { worker.receive(item, into: &effects) }
        var served = sentPrompts(effects)
        var lastID = requestIDs(effects).last!
        for _ in 1..<works.count {
            var next: [CoreEffect] = []
            worker.reply(LLMReply(id: lastID, result: .text("ok")), into: &next)
            served += sentPrompts(next)
            lastID = requestIDs(next).last ?? lastID
        }
        return served
    }

    @Test("fifo serves in arrival order")
    func fifo() {
        #expect(order(.fifo, [work(1, task: 5), work(2, task: 3), work(3, task: 4)]) == ["p1", "p2", "p3"])
    }

    @Test("arrival_priority serves the oldest task first")
    func arrivalPriority() {
        #expect(order(.arrivalPriority, [work(1, task: 5), work(2, task: 9), work(3, task: 2), work(4, task: 4)]) == ["p1", "p3", "p4", "p2"])
    }

    @Test("sjf serves the task with the fewest calls in all first")
    func shortestJobFirst() {
        let works = [work(1, task: 1, total: 30), work(2, task: 2, total: 45), work(3, task: 3, total: 12), work(4, task: 4, total: 30)]
        #expect(order(.sjf, works) == ["p1", "p3", "p4", "p2"])
    }

    @Test("srtf serves the task with the fewest remaining calls first")
    func shortestRemainingFirst() {
        let works = [work(1, task: 1, remaining: 9), work(2, task: 2, remaining: 40), work(3, task: 3, remaining: 3), work(4, task: 4, remaining: 20)]
        #expect(order(.srtf, works) == ["p1", "p3", "p4", "p2"])
    }

    @Test("a full queue answers queueFull at once instead of letting the caller hang")
    func queueFull() {
        var worker = LLMWorker(settings: LLMWorkerSettings(queueCapacity: 1, concurrency: 1), endpoint: "llm", incarnation: 1)
        var effects: [CoreEffect] = []
        for id in 1...3 as ClosedRange<UInt64> { worker.receive(work(id, task: 1), into: &effects) }
        #expect(sentPrompts(effects) == ["p1"])
        #expect(effects.contains(.send(to: "owner", .llmWorkReply(callID: 3, result: .queueFull))))
        #expect(worker.load == 2)
    }

    @Test("a timed-out call is retried after a backoff, then fails with a reason once retries run out")
    func timeoutRetryThenFail() {
        let settings = LLMWorkerSettings(queueCapacity: 4, concurrency: 1, timeout: .seconds(5), retries: 2, backoff: .seconds(1))
        var worker = LLMWorker(settings: settings, endpoint: "llm", incarnation: 1)
        var effects: [CoreEffect] = []
        worker.receive(work(1, task: 1), into: &effects)
        #expect(effects.contains(.setTimer(.llmTimeout(callID: requestIDs(effects)[0]), after: .seconds(5))))
        var attempt = requestIDs(effects)[0]
        for expectedBackoff in [.seconds(1), .seconds(2)] as [Interval] {
            var next: [CoreEffect] = []
            worker.timedOut(attempt, into: &next)
            #expect(next == [.setTimer(.llmRetry(callID: attempt), after: expectedBackoff)])
            var resent: [CoreEffect] = []
            worker.retryDue(attempt, into: &resent)
            attempt = requestIDs(resent)[0]
        }
        var last: [CoreEffect] = []
        worker.timedOut(attempt, into: &last)
        guard case .send("owner", .llmWorkReply(1, .failed(let reason, let retryable, _)))? = last.first else { Issue.record("\(last)"); return }
        #expect(reason.contains("after 3 attempt(s)"))
        #expect(retryable, "a timeout may pass: the owner is told it can send the call again")
        // A late answer to an abandoned attempt is ignored.
        var late: [CoreEffect] = []
        worker.reply(LLMReply(id: attempt, result: .text("late")), into: &late)
        #expect(late.isEmpty)
    }

    @Test("a 429 waits at least its retry-after; a 400 is not retried")
    func rateLimitAndClientError() {
        var worker = LLMWorker(settings: LLMWorkerSettings(concurrency: 2, backoff: .seconds(1)), endpoint: "llm", incarnation: 1)
        var effects: [CoreEffect] = []
        worker.receive(work(1, task: 1), into: &effects)
        worker.receive(work(2, task: 1), into: &effects)
        let ids = requestIDs(effects)
        var limited: [CoreEffect] = []
        worker.reply(LLMReply(id: ids[0], result: .error(status: 429, message: "slow down", retryAfter: .seconds(30))), into: &limited)
        #expect(limited == [.cancelTimer(.llmTimeout(callID: ids[0])), .setTimer(.llmRetry(callID: ids[0]), after: .seconds(30))])
        var invalid: [CoreEffect] = []
        worker.reply(LLMReply(id: ids[1], result: .error(status: 400, message: "bad", retryAfter: nil)), into: &invalid)
        #expect(invalid.contains { if case .send("owner", .llmWorkReply(2, .failed)) = $0 { true } else { false } })
    }
}

@Suite("Load balancing")
struct BalancingTests {
    func destinations(_ policy: BalancingPolicy, calls: Int) -> [Address] {
        var proxy = AgentProxy(settings: ProxySettings(proxy: "p1", region: "r", llm: "llm", balancing: policy), incarnation: 1)
        var random = SeededSource(seed: 3)
        let context = CoreContext(now: .nanoseconds(0), address: "p1", incarnation: 1)
        _ = proxy.handle(
            .message(from: "r", .membership(proxies: [ProxyLoad(proxy: "p1", incarnation: 1, workload: 5), ProxyLoad(proxy: "p2", incarnation: 1, workload: 0), ProxyLoad(proxy: "p3", incarnation: 1, workload: 2)])),
            context: context, random: &random)
        var effects: [CoreEffect] = []
        for _ in 0..<calls {
            let call = CallRequest(wave: 1, kind: .generation, slot: 0, prompt: "x", stop: [])
            proxy.send(AgentProxy.Outstanding(task: 1, node: "main", call: call, worker: "", queueFullCount: 0), avoiding: nil, now: .zero, random: &random, into: &effects)
        }
        return effects.compactMap { if case .send(let to, .llmWork) = $0 { to } else { nil } }
    }

    @Test("least_loaded fills the least-loaded worker first, counting its own sends")
    func leastLoaded() {
        let sent = destinations(.leastLoaded, calls: 7)
        #expect(Array(sent.prefix(2)) == ["p2", "p2"])
        // After two sends p2 (0+2) ties p3 (2); p1 (5) gets nothing until the others reach 5.
        #expect(sent.filter { $0 == "p1" }.isEmpty)
        #expect(sent.filter { $0 == "p2" }.count >= 3 && sent.filter { $0 == "p3" }.count >= 2)
    }

    func perRoundProxy(_ loads: [Int]) -> AgentProxy {
        var proxy = AgentProxy(settings: ProxySettings(proxy: "p1", region: "r", llm: "llm", balancing: .leastLoadedPerRound), incarnation: 1)
        var random = SeededSource(seed: 3)
        let members = loads.enumerated().map { ProxyLoad(proxy: Address("p\($0.offset + 1)"), incarnation: 1, workload: $0.element) }
        _ = proxy.handle(.message(from: "r", .membership(proxies: members)), context: CoreContext(now: .nanoseconds(0), address: "p1", incarnation: 1), random: &random)
        return proxy
    }

    func roundTargets(_ loads: [Int], calls: Int) -> [Address] { perRoundProxy(loads).roundTargets(count: calls) }

    @Test("least_loaded_per_round spreads one round greedily from the reported loads, ties to the first worker")
    func leastLoadedPerRoundSpreadsOneRound() {
        // p2 0 -> 1 -> 2, then p2 and p3 tie at 2 (p2 first), then p3 2 < p2 3, then a tie again.
        #expect(roundTargets([5, 0, 2], calls: 5) == ["p2", "p2", "p2", "p3", "p2"])
    }

    @Test("least_loaded_per_round sends the last call of a one-worker round to the second least loaded")
    func leastLoadedPerRoundKeepsTwoWorkers() {
        #expect(roundTargets([5, 0, 9], calls: 2) == ["p2", "p1"])
        #expect(roundTargets([0], calls: 3) == ["p1", "p1", "p1"], "one worker: nothing else to pick")
    }

    @Test("least_loaded_per_round forgets a round's picks: two rounds between reports pile onto the same workers")
    func leastLoadedPerRoundHerds() {
        var proxy = perRoundProxy([3, 0, 1, 4])
        var random = SeededSource(seed: 3)
        var effects: [CoreEffect] = []
        let first = proxy.roundTargets(count: 3)
        for target in first {
            let call = CallRequest(wave: 1, kind: .generation, slot: 0, prompt: "x", stop: [])
            proxy.send(AgentProxy.Outstanding(task: 1, node: "main", call: call, worker: "", queueFullCount: 0), avoiding: nil, target: target, now: .zero, random: &random, into: &effects)
        }
        #expect(first == ["p2", "p2", "p3"])
        #expect(proxy.roundTargets(count: 3) == first, "the calls just sent do not count until the next report")
    }

    @Test("random spreads calls over every worker")
    func random() {
        let sent = destinations(.random, calls: 300)
        for proxy in ["p1", "p2", "p3"] as [Address] { #expect(sent.filter { $0 == proxy }.count > 60, "\(proxy)") }
    }
}

@Suite("The tree-of-thoughts loop and voting")
struct NodeRunTests {
    func settings(_ rounds: Int = 1, samples: Int = 3, voters: Int = 5, voting: VotingPolicy = .naive, retries: Int = 0) -> NodeRunSettings {
        NodeRunSettings(rounds: rounds, samples: samples, voters: voters, voting: voting, roundRetries: retries)
    }

    func calls(_ step: NodeStep) -> [CallRequest] { if case .issue(let calls) = step { calls } else { [] } }

    /// Answers every sample with `PLAN: pN OUTPUT: oN`, returns the vote calls.
    func sample(_ run: inout NodeRun, _ step: NodeStep, random: inout SeededSource) -> NodeStep {
        var last = NodeStep.wait
        for call in calls(step) {
            last = run.record(call, result: .success("PLAN: p\(call.slot + 1)\nOUTPUT: o\(call.slot + 1)"), random: &random)
        }
        return last
    }

    @Test("naive voting waits for every vote; plurality wins, ties to the lowest choice")
    func naiveVoting() {
        var random = SeededSource(seed: 1)
        var run = NodeRun(task: "t", parentResults: [], settings: settings(voters: 4))
        let votes = calls(sample(&run, run.start(), random: &random))
        #expect(votes.count == 4 && votes[0].kind == .voting)
        #expect(votes[0].prompt.contains("Choice 3: PLAN: p3"))
        let answers = ["The best choice is 3", "The best choice is 2", "The best choice is 3", "The best choice is 2"]
        var step = NodeStep.wait
        for (call, answer) in zip(votes, answers) {
            #expect(step == .wait)
            step = run.record(call, result: .success(answer), random: &random)
        }
        #expect(step == .succeeded(output: "o2"))  // 2-2 tie: the lower choice wins
    }

    @Test("a node resumed after a round checkpoint starts at the next round with the saved plan as hints")
    func resumeAfterRoundCheckpoint() {
        var random = SeededSource(seed: 1)
        var run = NodeRun(task: "t", parentResults: [], settings: settings(3, voters: 1), resumeAfter: (round: 2, plan: "the saved plan"))
        #expect(run.round == 3)
        let first = calls(run.start())
        #expect(first.count == 3)
        #expect(first[0].prompt.contains("the saved plan"), "the hints carry the checkpoint's plan")
        let votes = calls(sample(&run, .issue(first), random: &random))
        #expect(run.record(votes[0], result: .success("The best choice is 2"), random: &random) == .succeeded(output: "o2"), "round 3 is the last")
        // A checkpoint of the last round (or beyond) is not a resume point.
        #expect(NodeRun(task: "t", parentResults: [], settings: settings(3), resumeAfter: (round: 3, plan: "p")).round == 1)
    }

    @Test("round checkpoint keys name their node and round, and the newest one below the last round wins")
    func roundCheckpointKeys() {
        #expect(RoundCheckpoint.key(node: "main", round: 2) == "main@2")
        #expect(RoundCheckpoint.parse("main@2")! == ("main", 2))
        #expect(RoundCheckpoint.parse("main") == nil)
        #expect(RoundCheckpoint.parse("main@x") == nil)
        let progress = ["main@1": "p1", "main@2": "p2", "main@3": "p3", "other@2": "q"]
        #expect(RoundCheckpoint.latest(node: "main", rounds: 3, in: progress)! == (2, "p2"))
        #expect(RoundCheckpoint.latest(node: "absent", rounds: 3, in: progress) == nil)
    }

    @Test("early majority stops at V/2+1 votes for one choice")
    func earlyMajorityStopsAtMajority() {
        var random = SeededSource(seed: 1)
        var run = NodeRun(task: "t", parentResults: [], settings: settings(voters: 5, voting: .earlyMajority))
        let votes = calls(sample(&run, run.start(), random: &random))
        #expect(run.record(votes[0], result: .success("The best choice is 2"), random: &random) == .wait)
        #expect(run.record(votes[1], result: .success("The best choice is 2"), random: &random) == .wait)
        #expect(run.record(votes[2], result: .success("The best choice is 2"), random: &random) == .succeeded(output: "o2"))
        // Later votes belong to a closed wave and change nothing.
        #expect(run.record(votes[3], result: .success("The best choice is 1"), random: &random) == .wait)
    }

    @Test("early majority stops once the leader cannot be caught")
    func earlyMajorityUncatchableLeader() {
        var random = SeededSource(seed: 1)
        var run = NodeRun(task: "t", parentResults: [], settings: settings(voters: 4, voting: .earlyMajority))
        let votes = calls(sample(&run, run.start(), random: &random))
        #expect(run.record(votes[0], result: .success("The best choice is 1"), random: &random) == .wait)
        #expect(run.record(votes[1], result: .failure(CallFailure("x")), random: &random) == .wait)
        #expect(run.record(votes[2], result: .success("The best choice is 1"), random: &random) == .succeeded(output: "o1"))
    }

    @Test("multi-digit votes are read whole, and votes that name no choice become random choices")
    func voteParsing() {
        #expect(Prompts.parseVote("... The best choice is 12", choices: 12) == 12)
        #expect(Prompts.parseVote("The best choice is 12", choices: 5) == nil, "12 is out of range, not 2")
        #expect(Prompts.parseVote("The best choice is 1. No wait: The best choice is 3", choices: 3) == 3, "the last sentence counts")
        #expect(Prompts.parseVote("I like choice 2 most", choices: 3) == nil)
        #expect(Prompts.parseVote("The best choice is: 2.", choices: 3) == 2)
        var random = SeededSource(seed: 9)
        var run = NodeRun(task: "t", parentResults: [], settings: settings(voters: 1))
        let votes = calls(sample(&run, run.start(), random: &random))
        guard case .succeeded = run.record(votes[0], result: .success("no idea"), random: &random) else { Issue.record("no winner"); return }
        #expect(run.randomVotes == 1)
    }

    @Test("answers are cut into plan and output as Foundation's search and trim would cut them")
    func answerSections() {
        let answers = [
            "PLAN: do it\nOUTPUT: done", "PLAN:\n\t step one \r\n", "no sections at all", "OUTPUT:   ", "PLAN: a OUTPUT: b OUTPUT: c",
            "PLAN:\u{00A0}wide\u{2003}space\u{2028}", "OUTPUT: café ☕️\u{3000}", "PLAN: é\u{301} OUTPUT:\u{85}x\u{85}", "",
        ]
        for answer in answers {
            #expect(Prompts.plan(of: answer) == foundationPlan(answer), "\(answer.debugDescription)")
            #expect(Prompts.output(of: answer) == foundationOutput(answer), "\(answer.debugDescription)")
        }
        #expect(Prompts.voting(task: "t", choices: ["see Choice 2: yes", "Choice Choice x"]).contains("Choice 1: see choice 2: yes\nChoice 2: choice choice x\n"))
        #expect(Prompts.parseVote("The best choice is 3", choices: 0) == nil, "no choices: no vote, and no trap")
    }

    /// The sections as the earlier Foundation code read them.
    func foundationPlan(_ answer: String) -> String? {
        guard let start = answer.range(of: Prompts.planMarker) else { return nil }
        var plan = answer[start.upperBound...]
        if let end = plan.range(of: Prompts.outputMarker) { plan = plan[..<end.lowerBound] }
        let trimmed = plan.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    func foundationOutput(_ answer: String) -> String? {
        guard let start = answer.range(of: Prompts.outputMarker) else { return nil }
        let trimmed = answer[start.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    @Test("rounds pass the winning plan on as hints, and intermediate samples stop at OUTPUT:")
    func roundsCarryHints() {
        var random = SeededSource(seed: 1)
        var run = NodeRun(task: "t", parentResults: [("parent", "P")], settings: settings(2, samples: 2, voters: 1))
        let first = calls(run.start())
        #expect(first.allSatisfy { $0.stop == ["OUTPUT:"] })
        #expect(first[0].prompt.contains("<<result of step parent>>\nP\n<<end of step parent>>"))
        let vote = calls(sample(&run, .issue(first), random: &random))
        let second = calls(run.record(vote[0], result: .success("The best choice is 2"), random: &random))
        #expect(second.count == 2 && second.allSatisfy { $0.stop.isEmpty })
        #expect(second[0].prompt.contains("Hints from the previous round's best plan: p2"))
        #expect(run.round == 2)
    }

    @Test("a round fails when all samples fail, or the winner lacks its section; it is retried, then the node fails")
    func roundFailures() {
        var random = SeededSource(seed: 1)
        var run = NodeRun(task: "t", parentResults: [], settings: settings(samples: 2, voters: 1, retries: 1))
        var step = run.start()
        for call in calls(step) { step = run.record(call, result: .failure(CallFailure("HTTP 500")), random: &random) }
        #expect(run.attempt == 2)
        let retry = calls(step)
        #expect(retry.count == 2, "the round is retried")
        step = run.record(retry[0], result: .success("PLAN: only a plan"), random: &random)
        step = run.record(retry[1], result: .failure(CallFailure("x")), random: &random)
        guard case .failed(let failure) = step else { Issue.record("\(step)"); return }
        // One attempt was refused, one chose a malformed winner: not malformed every time.
        #expect(failure == .refused(round: 1, status: 0, message: "all 2 samples failed (last: HTTP 500)"))
    }

    @Test("votes from an earlier wave are ignored")
    func staleWaveIgnored() {
        var random = SeededSource(seed: 1)
        var run = NodeRun(task: "t", parentResults: [], settings: settings(samples: 2, voters: 1))
        let samples = calls(run.start())
        let stale = CallRequest(wave: 0, kind: .generation, slot: 0, prompt: "", stop: [])
        #expect(run.record(stale, result: .success("PLAN: x\nOUTPUT: y"), random: &random) == .wait)
        #expect(run.record(samples[0], result: .success("PLAN: a\nOUTPUT: b"), random: &random) == .wait)
    }
}
