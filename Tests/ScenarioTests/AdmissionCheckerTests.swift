import Checks
import PlantedBugs
@testable import Core
@testable import Scenarios
import Sim
import Testing

let validQuery = Query(taskName: "code_generation", taskDescription: "write a function", nRounds: 1, nSamples: 1, nVoters: 1)

@Suite("Checkers 14 and 15 judge refusals and the admission bound on hand-made histories")
struct AdmissionCheckerTests {
    @Test("14: a valid query refused with an unused key is unjustified; an invalid query or a reused key justifies it")
    func rejections() {
        var wrong = History()
        wrong.add("client-1", .client(.submitted(requestID: 1, query: validQuery)))
        wrong.add("client-1", .client(.rejected(requestID: 1, reason: "request_id was already used for task 7 with a different query")))
        let found = wrong.run(JustifiedRejectionChecker())
        #expect(found.count == 1 && found[0].detail.contains("its query is valid"), "\(found)")

        var invalid = History()
        var bad = validQuery
        bad.nRounds = 0
        invalid.add("client-1", .client(.submitted(requestID: 1, query: bad)))
        invalid.add("client-1", .client(.rejected(requestID: 1, reason: "n_rounds must be positive")))
        #expect(invalid.run(JustifiedRejectionChecker()).isEmpty)

        var reused = History()
        var first = validQuery
        first.requestKey = "k"
        var second = first
        second.taskDescription = "something else"
        reused.add("client-1", .client(.submitted(requestID: 1, query: first)))
        reused.add("client-1", .client(.submitted(requestID: 2, query: second)))
        reused.add("client-1", .client(.rejected(requestID: 2, reason: "key used")))
        #expect(reused.run(JustifiedRejectionChecker()).isEmpty)
        // The same key reused by another client is no justification: keys are per client.
        var other = History()
        other.add("client-1", .client(.submitted(requestID: 1, query: first)))
        other.add("client-2", .client(.submitted(requestID: 1, query: second)))
        other.add("client-2", .client(.rejected(requestID: 1, reason: "key used")))
        #expect(other.run(JustifiedRejectionChecker()).count == 1)
    }

    @Test("14: an admission refusal is justified only while the cluster was at its limit since the gateway's view")
    func refusals() {
        func history(finishFirst: Bool) -> History {
            var history = History()
            for task in TaskID(1)...2 { history.add("store", .core(.taskCreated(task: task, key: "k\(task)", outcome: .new))) }
            if finishFirst { history.write(1, .finish(status: .completed, resultDigest: "x", cause: nil), e(1, 1), before: e(1, 1)) }
            history.time += 100
            // The gateway's view: a sweep sent 10 ns ago, after task 1 had finished.
            history.add("gateway", .core(.admissionRefused(open: 2, viewAge: .nanoseconds(10))))
            return history
        }
        #expect(history(finishFirst: false).run(JustifiedRejectionChecker(openTasksMax: 2)).isEmpty)
        let found = history(finishFirst: true).run(JustifiedRejectionChecker(openTasksMax: 2))
        #expect(found.count == 1 && found[0].detail.contains("at most 1 task(s) were unfinished"), "\(found)")
        // An admitted create still in flight counts.
        var inFlight = history(finishFirst: true)
        inFlight.events.insert(
            ObservedEvent(index: 0, time: Instant(nanoseconds: 0), node: "gateway", observation: .core(.createAdmitted(key: "k3", incarnation: 1))), at: 0)
        #expect(inFlight.run(JustifiedRejectionChecker(openTasksMax: 2)).isEmpty)
    }

    @Test("14: a create the gateway gave up on unanswered since its view counts, as the store may still apply it (a guided swarm run)")
    func refusalAfterUnansweredCreate() {
        func history(gaveUpAfterView: Bool, newLife: Bool = false) -> History {
            var history = History()
            history.add("store", .core(.taskCreated(task: 1, key: "k1", outcome: .new)))
            history.add("gateway", .core(.createAdmitted(key: "k2", incarnation: 1)))
            if !gaveUpAfterView { history.add("gateway", .core(.createEnded(key: "k2", incarnation: 1, answered: false))) }
            history.time += 50
            // The view: a sweep sent 15 ns before the refusal.
            history.time += 40
            if gaveUpAfterView { history.add("gateway", .core(.createEnded(key: "k2", incarnation: 1, answered: false))) }
            if newLife { history.add("gateway", .core(.createAdmitted(key: "k9", incarnation: 2))); history.add("gateway", .core(.createEnded(key: "k9", incarnation: 2, answered: true))) }
            history.time += 10
            history.add("gateway", .core(.admissionRefused(open: 2, viewAge: .nanoseconds(15))))
            return history
        }
        #expect(history(gaveUpAfterView: true).run(JustifiedRejectionChecker(openTasksMax: 2)).isEmpty)
        let stale = history(gaveUpAfterView: false).run(JustifiedRejectionChecker(openTasksMax: 2))
        #expect(stale.count == 1 && stale[0].detail.contains("0 given up on unanswered since"), "the view's sweep came after the give-up: \(stale)")
        #expect(history(gaveUpAfterView: true, newLife: true).run(JustifiedRejectionChecker(openTasksMax: 2)).count == 1, "a new life counts none of the old one's")
    }

    @Test("14: a finished task found again by a repeated key since the gateway's view counts until a newer view (swarm seed 1071)")
    func refusalAfterRepeatedKey() {
        func history(foundAfterView: Bool) -> History {
            var history = History()
            for task in TaskID(1)...2 { history.add("store", .core(.taskCreated(task: task, key: "k\(task)", outcome: .new))) }
            history.write(1, .finish(status: .completed, resultDigest: "x", cause: nil), e(1, 1), before: e(1, 1))
            history.time += 50
            if !foundAfterView { history.add("store", .core(.taskCreated(task: 1, key: "k1", outcome: .existing))) }
            history.time += 40
            // The view: a sweep sent 15 ns before the refusal, after task 1 finished.
            if foundAfterView { history.add("store", .core(.taskCreated(task: 1, key: "k1", outcome: .existing))) }
            history.time += 10
            history.add("gateway", .core(.admissionRefused(open: 2, viewAge: .nanoseconds(15))))
            return history
        }
        #expect(history(foundAfterView: true).run(JustifiedRejectionChecker(openTasksMax: 2)).isEmpty)
        #expect(history(foundAfterView: false).run(JustifiedRejectionChecker(openTasksMax: 2)).count == 1, "a newer view knew it was finished")
    }

    @Test("15: more unfinished tasks than the limit fails, unless the gateway lost track of as many creates")
    func bound() {
        var over = History()
        for task in TaskID(1)...3 { over.add("store", .core(.taskCreated(task: task, key: "k\(task)", outcome: .new))) }
        let found = over.run(AdmissionBoundChecker(openTasksMax: 2))
        #expect(found.count == 1 && found[0].task == 3, "\(found)")

        var finished = History()
        for task in TaskID(1)...2 { finished.add("store", .core(.taskCreated(task: task, key: "k\(task)", outcome: .new))) }
        finished.write(1, .finish(status: .completed, resultDigest: "x", cause: nil), e(1, 1), before: e(1, 1))
        finished.add("store", .core(.taskCreated(task: 3, key: "k3", outcome: .new)))
        finished.add("store", .core(.taskCreated(task: 3, key: "k3", outcome: .existing)))
        #expect(finished.run(AdmissionBoundChecker(openTasksMax: 2)).isEmpty)

        var orphaned = History()
        orphaned.add("gateway", .core(.createAdmitted(key: "k3", incarnation: 1)))
        // The gateway restarts with the create in flight: its next life cannot count it.
        orphaned.add("gateway", .core(.createAdmitted(key: "k1", incarnation: 2)))
        for task in TaskID(1)...3 { orphaned.add("store", .core(.taskCreated(task: task, key: "k\(task)", outcome: .new))) }
        #expect(orphaned.run(AdmissionBoundChecker(openTasksMax: 2)).isEmpty)
        var unanswered = History()
        unanswered.add("gateway", .core(.createEnded(key: "k3", incarnation: 1, answered: false)))
        for task in TaskID(1)...3 { unanswered.add("store", .core(.taskCreated(task: task, key: "k\(task)", outcome: .new))) }
        #expect(unanswered.run(AdmissionBoundChecker(openTasksMax: 2)).isEmpty)
    }

    @Test("13: a mean or median under the calibrated band's floor fails the latency invariant")
    func latencyFloor() {
        var history = History()
        for task in TaskID(1)...3 { history.add("client-1", .client(.finished(task: task, latency: .seconds(10), completed: true))) }
        let band = LatencyBudget(mean: .seconds(60), meanMin: .seconds(20), p50Min: .seconds(15))
        let found = history.run(LatencyChecker(budget: band))
        #expect(found.count == 2 && found.allSatisfy { $0.detail.contains("under the calibrated band's floor") }, "\(found)")
        #expect(history.run(LatencyChecker(budget: LatencyBudget(mean: .seconds(60), meanMin: .seconds(5)))).isEmpty)
    }
}

@Suite("Planted bugs that only checkers 14 and 15 and the latency floor catch", .serialized)
struct AdmissionPlantedBugTests {
    @Test("a gateway whose keys leave out the client is caught by the justified-rejections checker")
    func clientBlindKeys() throws {
        let overrides = RoleOverrides(gateway: { ClientBlindKeyGateway(inner: Gateway(settings: $0, incarnation: $1)) })
        let (seed, violations) = try #require(try explore(ScenarioLibrary.proxyCrash, seeds: 1...50, overrides: overrides), "not caught within 50 seeds")
        #expect(violations.contains { $0.invariant == .justifiedRejections }, "seed \(seed): \(violations.map(\.description))")
        let older = violations.filter { $0.invariant.rawValue <= Invariant.latency.rawValue && $0.invariant != .latency }
        #expect(older.isEmpty, "seed \(seed): the older checkers let it through: \(older.map(\.description))")
    }

    @Test("a gateway that refuses one short of its limit is caught by the justified-rejections checker")
    func offByOneAdmission() throws {
        let overrides = CoreBug.shortAdmissionGateway.overrides
        let (seed, violations) = try #require(try explore(ScenarioLibrary.admission, seeds: 1...50, overrides: overrides), "not caught within 50 seeds")
        #expect(violations.contains { $0.invariant == .justifiedRejections }, "seed \(seed): \(violations.map(\.description))")
    }

    @Test("a restarted gateway that admits before its first sweep is caught by the admission-bound checker")
    func eagerRestart() throws {
        let overrides = RoleOverrides(gateway: { EagerRestartGateway(inner: Gateway(settings: $0, incarnation: $1)) })
        let (seed, violations) = try #require(try explore(ScenarioLibrary.admission, seeds: 1...50, overrides: overrides), "not caught within 50 seeds")
        #expect(violations.contains { $0.invariant == .admissionBound }, "seed \(seed): \(violations.map(\.description))")
    }

    @Test("an LLM twice as fast as calibrated is caught by the latency band's floor in the calibrated scenarios")
    func fasterThanCalibrated() throws {
        for calibrated in [ScenarioLibrary.poisson, ScenarioLibrary.faultTolerance] {
            var faster = calibrated
            let latency = faster.llm.latency
            faster.llm.latency.firstTokenNanos = IntRange(latency.firstTokenNanos.min / 2, latency.firstTokenNanos.max / 2)
            faster.llm.latency.perTokenNanos = IntRange(latency.perTokenNanos.min / 2, latency.perTokenNanos.max / 2)
            let (seed, violations) = try #require(try explore(faster, seeds: 1...50, overrides: .none), "\(calibrated.name): not caught within 50 seeds")
            #expect(violations.contains { $0.invariant == .latency && $0.detail.contains("floor") }, "\(calibrated.name) seed \(seed): \(violations.map(\.description))")
        }
    }
}
