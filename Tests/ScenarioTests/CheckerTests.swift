import Checks
@testable import Core
@testable import Scenarios
import Sim
import Testing

/// Hand-made histories: each checker must catch the bad one and pass the good one.
struct History {
    var events: [ObservedEvent] = []
    var time: Int64 = 0

    mutating func add(_ node: String, _ observation: WorldObservation) {
        time += 1
        events.append(ObservedEvent(index: UInt64(events.count), time: Instant(nanoseconds: time), node: Address(node), observation: observation))
    }

    mutating func write(_ task: TaskID, _ kind: WriteKind, _ epoch: Epoch, before: Epoch? = nil, applied: Bool = true, repeated: Bool = false) {
        let outcome: WriteOutcome = applied ? .applied(current: epoch, repeated: repeated) : .rejected(current: before, reason: .staleEpoch)
        add("store", .core(.write(task: task, request: kind, epoch: epoch, before: before, outcome: outcome)))
    }

    func run<C: InvariantChecker>(_ checker: C, snapshot: StoreSnapshot = StoreSnapshot(tasks: [], progress: [:])) -> [Violation] {
        var checker = checker
        for event in events { checker.observe(event) }
        checker.audit(snapshot, end: Instant(nanoseconds: time + 1))
        return checker.violations
    }
}

func e(_ g: Int64, _ r: Int64) -> Epoch { Epoch(global: g, regional: r) }
func claim(_ proxy: String = "") -> WriteKind { .claim(region: "region-1", owner: Owner(proxy)) }
func progress(_ node: String, _ result: String = "r", input: String = "i") -> WriteKind {
    .progress(node: node, resultDigest: FNV64.hex(FNV64.hash(result)), inputDigest: input)
}

/// A consistent single-task history: claims (1,0) and (1,1), node a saved, the task finished.
func goodHistory() -> History {
    var history = History()
    history.add("gateway", .core(.taskAcknowledged(task: 1)))
    history.write(1, claim(), e(1, 0), before: e(0, 0))
    history.write(1, claim("proxy-1-1#1"), e(1, 1), before: e(1, 0))
    history.add("proxy-1-1", .core(.nodeStarted(task: 1, node: "a", epoch: e(1, 1), inputDigest: "i", parents: [])))
    history.write(1, progress("a"), e(1, 1), before: e(1, 1))
    history.write(1, .finish(status: .completed, resultDigest: "x", cause: nil), e(1, 1), before: e(1, 1))
    return history
}

@Suite("Invariant checkers catch hand-made bad histories")
struct CheckerTests {
    @Test("a consistent history passes every checker")
    func goodHistoryPasses() {
        var suite = CheckerSuite()
        for event in goodHistory().events { suite.observe(event) }
        #expect(suite.violations.isEmpty)
    }

    @Test("1: a claim that lowers the epoch, and progress written at a lower epoch")
    func loweredEpoch() {
        var history = goodHistory()
        history.write(1, claim("proxy-1-2#1"), e(0, 9), before: e(1, 1))
        #expect(history.run(EpochMonotonicityChecker()).count == 1)
        var progressDown = goodHistory()
        progressDown.write(1, progress("b"), e(0, 5), before: e(1, 1))
        #expect(progressDown.run(EpochMonotonicityChecker()).first?.detail.contains("progress written at (0,5) after progress at (1,1)") == true)
    }

    @Test("2: a stale write applied")
    func staleWriteApplied() {
        var history = goodHistory()
        history.write(1, claim("proxy-1-2#1"), e(1, 2), before: e(1, 1))
        history.write(1, progress("b"), e(1, 1), before: e(1, 2))  // the old owner's write got through
        let violations = history.run(FencingChecker())
        #expect(violations.count == 1)
        #expect(violations.first?.node == "b")
        #expect(violations.first?.events.count == 2, "names the claim and the write")
    }

    @Test("3: one epoch claimed by two owners")
    func doubleClaim() {
        var history = goodHistory()
        history.write(1, claim("proxy-1-2#1"), e(1, 1), before: e(1, 0))
        #expect(history.run(UniqueOwnershipChecker()).first?.detail.contains("claimed by region-1/proxy-1-1#1 and again by region-1/proxy-1-2#1") == true)
        var retry = goodHistory()
        retry.write(1, claim("proxy-1-1#1"), e(1, 1), before: e(1, 1), repeated: true)  // an idempotent retry is fine
        #expect(retry.run(UniqueOwnershipChecker()).isEmpty)
    }

    @Test("4: a saved result that changes, in the trace or in the database")
    func changedResult() {
        var history = goodHistory()
        history.write(1, progress("a", "other"), e(1, 1), before: e(1, 1))
        #expect(history.run(ProgressImmutabilityChecker()).count == 1)
        let snapshot = StoreSnapshot(
            tasks: [], progress: [1: [ProgressRecord(taskID: 1, nodeID: "a", epoch: e(1, 1), result: "tampered", inputDigest: "i")]])
        #expect(goodHistory().run(ProgressImmutabilityChecker(), snapshot: snapshot).first?.detail.contains("the database holds") == true)
    }

    @Test("5: a child run before its parent, on a different parent result, a saved node run again, a wrong input digest")
    func progressCorrectness() {
        var early = goodHistory()
        early.add("proxy-1-1", .core(.nodeStarted(task: 1, node: "c", epoch: e(1, 1), inputDigest: "j", parents: [ParentResult(node: "b", resultDigest: "x")])))
        #expect(early.run(ProgressCorrectnessChecker()).first?.detail == "started before its parent 'b' had a saved result")

        var wrongInput = goodHistory()
        wrongInput.add("proxy-1-1", .core(.nodeStarted(task: 1, node: "c", epoch: e(1, 1), inputDigest: "j", parents: [ParentResult(node: "a", resultDigest: "0xbad")])))
        #expect(wrongInput.run(ProgressCorrectnessChecker()).first?.detail.contains("started from parent 'a' result 0xbad") == true)

        var rerun = goodHistory()
        rerun.add("proxy-1-2", .core(.nodeStarted(task: 1, node: "a", epoch: e(1, 2), inputDigest: "i", parents: [])))
        #expect(rerun.run(ProgressCorrectnessChecker()).first?.detail.contains("ran again") == true)
        // The same owner, whose read of the progress raced its own delayed save, may start the
        // node again at its own epoch: the store will answer its second save with a conflict.
        var raced = goodHistory()
        raced.add("proxy-1-1", .core(.nodeStarted(task: 1, node: "a", epoch: e(1, 1), inputDigest: "i", parents: [])))
        #expect(raced.run(ProgressCorrectnessChecker()).isEmpty)

        var digest = History()
        digest.add("proxy-1-1", .core(.nodeStarted(task: 1, node: "a", epoch: e(1, 1), inputDigest: "i", parents: [])))
        digest.write(1, progress("a", input: "other"), e(1, 1), before: e(1, 1))
        #expect(digest.run(ProgressCorrectnessChecker()).first?.detail.contains("saved with input digest other but started from i") == true)
    }

    @Test("6: a status going backwards, a final status changing, an acknowledged task reported unknown")
    func clientView() {
        var backwards = History()
        backwards.add("client-1", .client(.acknowledged(requestID: 1, task: 1)))
        backwards.add("client-1", .client(.status(task: 1, status: .running(epoch: Epoch(global: 1, regional: 1), saved: 0))))
        backwards.add("client-1", .client(.status(task: 1, status: .pending)))
        #expect(backwards.run(ClientViewChecker()).first?.detail == "status went back from running to pending")

        var changed = History()
        changed.add("client-1", .client(.status(task: 1, status: .completed(result: "a"))))
        changed.add("client-1", .client(.status(task: 1, status: .completed(result: "b"))))
        #expect(changed.run(ClientViewChecker()).count == 1)

        var forgotten = History()
        forgotten.add("client-1", .client(.acknowledged(requestID: 1, task: 1)))
        forgotten.add("client-1", .client(.status(task: 1, status: .nonExist)))
        #expect(forgotten.run(ClientViewChecker()).first?.detail == "an acknowledged task was reported as unknown (non_exist)")
    }

    @Test("6: a completed result that is not what the stored progress yields")
    func completedResultMismatch() {
        let plan = TaskPlan(query: Query(taskName: "code_generation", taskDescription: "d", nRounds: 1, nSamples: 1, nVoters: 1), graph: TaskGraph(nodes: [GraphNode(id: "a")]))
        let task = TaskRecord(
            taskID: 1, userID: 0, taskType: "t", epoch: e(1, 1), taskDescription: CanonicalJSON.encode(plan), ownerRegion: "r", ownerProxy: "p",
            status: .completed, result: "not-a", reason: nil, requestDocumentID: nil, responseDocumentID: nil)
        let snapshot = StoreSnapshot(tasks: [task], progress: [1: [ProgressRecord(taskID: 1, nodeID: "a", epoch: e(1, 1), result: "A", inputDigest: "x")]])
        #expect(History().run(ClientViewChecker(), snapshot: snapshot).first?.detail == "the completed result is not what the stored progress yields")
    }

    @Test("7: an acknowledged task never finishing, or aborted without a reason")
    func liveness() {
        var history = History()
        history.add("gateway", .core(.taskAcknowledged(task: 1)))
        history.add("gateway", .core(.taskAcknowledged(task: 2)))
        func record(_ id: TaskID, _ status: TaskStatus, reason: String? = nil) -> TaskRecord {
            TaskRecord(taskID: id, userID: 0, taskType: "t", epoch: e(1, 1), taskDescription: "{}", ownerRegion: "r", ownerProxy: "p",
                status: status, result: nil, reason: reason, requestDocumentID: nil, responseDocumentID: nil)
        }
        let snapshot = StoreSnapshot(tasks: [record(1, .running), record(2, .aborted, reason: "")], progress: [:])
        let violations = history.run(LivenessChecker(), snapshot: snapshot)
        #expect(violations.count == 2)
        #expect(violations[0].detail.hasPrefix("still running at the end of the liveness phase"))
        #expect(violations[1].detail == "aborted without a reason")
    }
}
