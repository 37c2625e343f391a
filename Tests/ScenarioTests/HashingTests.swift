import Checks
import Core
@testable import Scenarios
import Sim
import Testing

@Suite("Trace hashing of simulated payloads")
struct HashingTests {
    func hash(_ message: CoreMessage) -> UInt64 {
        var h = TraceHash()
        message.stableHash(into: &h)
        return h.value
    }

    @Test("every field of a message reaches its hash")
    func everyFieldCounts() {
        let work = LLMWork(callID: 1, owner: "p", taskID: 2, kind: .generation, prompt: "x", stop: ["OUTPUT:"], maxTokens: 10, totalCalls: 3, remainingHalfCalls: 4)
        var variants: [LLMWork] = []
        var w = work; w.callID = 9; variants.append(w)
        w = work; w.owner = "q"; variants.append(w)
        w = work; w.taskID = 9; variants.append(w)
        w = work; w.kind = .voting; variants.append(w)
        w = work; w.prompt = "y"; variants.append(w)
        w = work; w.stop = []; variants.append(w)
        w = work; w.maxTokens = 11; variants.append(w)
        w = work; w.totalCalls = 4; variants.append(w)
        w = work; w.remainingHalfCalls = 5; variants.append(w)
        let hashes = Set(([work] + variants).map { hash(.llmWork($0)) })
        #expect(hashes.count == variants.count + 1)

        let query = Query(taskName: "code_generation", taskDescription: "d", nRounds: 1, nSamples: 2, nVoters: 3)
        var graphQuery = query
        graphQuery.graph = TaskGraph(nodes: [GraphNode(id: "a")])
        var dependent = query
        dependent.graph = TaskGraph(nodes: [GraphNode(id: "a", dependsOn: ["b"])])
        let messages: [CoreMessage] = [
            .submit(requestID: 1, query: query), .submit(requestID: 1, query: graphQuery), .submit(requestID: 1, query: dependent),
            .submitted(requestID: 1, taskID: 1), .statusQuery(requestID: 1, taskID: 1),
            .statusReply(requestID: 1, status: .completed(result: "a")), .statusReply(requestID: 1, status: .completed(result: "b")),
            .storeRequest(requestID: 1, .claim(1, epoch: Epoch(global: 1, regional: 0), region: "r", owner: nil)),
            .storeRequest(requestID: 1, .claim(1, epoch: Epoch(global: 1, regional: 1), region: "r", owner: nil)),
            .storeReply(requestID: 1, .write(.applied(current: .initial, repeated: false))),
            .storeReply(requestID: 1, .write(.applied(current: .initial, repeated: true))),
            .run(taskID: 1, epoch: .initial, owner: Owner(proxy: "p", incarnation: 1)), .run(taskID: 1, epoch: .initial, owner: Owner(proxy: "p", incarnation: 2)),
            .membership(proxies: [ProxyLoad(proxy: "p", incarnation: 1, workload: 0)]),
            .membership(proxies: [ProxyLoad(proxy: "p", incarnation: 2, workload: 0)]),
        ]
        #expect(Set(messages.map(hash)).count == messages.count)
    }

    @Test("every field of a world observation reaches its hash")
    func everyObservationFieldCounts() {
        func hash(_ observation: WorldObservation) -> UInt64 {
            var h = TraceHash()
            observation.stableHash(into: &h)
            return h.value
        }
        let e1 = Epoch(global: 1, regional: 0), e2 = Epoch(global: 1, regional: 1)
        let owner = Owner(proxy: "p", incarnation: 1)
        let applied = WriteOutcome.applied(current: e1, repeated: false)
        let observations: [WorldObservation] = [
            .core(.write(task: 1, request: .claim(region: "r", owner: owner), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 2, request: .claim(region: "r", owner: owner), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .claim(region: "s", owner: owner), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .claim(region: "r", owner: nil), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .claim(region: "r", owner: Owner(proxy: "p", incarnation: 2)), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .claim(region: "r", owner: owner), epoch: e2, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .claim(region: "r", owner: owner), epoch: e1, before: e1, outcome: applied)),
            .core(.write(task: 1, request: .claim(region: "r", owner: owner), epoch: e1, before: nil, outcome: .applied(current: e1, repeated: true))),
            .core(.write(task: 1, request: .progress(node: "a", resultDigest: "x", inputDigest: "y"), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .progress(node: "b", resultDigest: "x", inputDigest: "y"), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .progress(node: "a", resultDigest: "z", inputDigest: "y"), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .progress(node: "a", resultDigest: "x", inputDigest: "z"), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .finish(status: .completed, resultDigest: "x", cause: nil), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .finish(status: .aborted, resultDigest: "x", cause: nil), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .finish(status: .aborted, resultDigest: "x", cause: .noRegion(since: .nanoseconds(1))), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .abort(cause: .noRegion(since: .nanoseconds(1))), epoch: e1, before: nil, outcome: applied)),
            .core(.write(task: 1, request: .abort(cause: .noRegion(since: .nanoseconds(2))), epoch: e1, before: nil, outcome: applied)),
            .core(.nodeStarted(task: 1, node: "a", epoch: e1, inputDigest: "d", parents: [])),
            .core(.nodeStarted(task: 1, node: "a", epoch: e1, inputDigest: "e", parents: [])),
            .core(.nodeStarted(task: 1, node: "a", epoch: e1, inputDigest: "d", parents: [ParentResult(node: "b", resultDigest: "r")])),
            .core(.nodeStarted(task: 1, node: "a", epoch: e1, inputDigest: "d", parents: [ParentResult(node: "b", resultDigest: "s")])),
            .core(.ownerFenced(task: 1, epoch: e1, current: nil)), .core(.ownerFenced(task: 1, epoch: e1, current: e2)),
            .core(.taskAcknowledged(task: 1)), .core(.taskAcknowledged(task: 2)),
            .core(.queryRejected(reason: "a")), .core(.queryRejected(reason: "b")),
            .core(.admissionRefused(open: 1, viewAge: .nanoseconds(0))), .core(.admissionRefused(open: 2, viewAge: .nanoseconds(0))), .core(.note("a")), .core(.note("b")),
            .client(.submitted(requestID: 1)), .client(.submitted(requestID: 2)),
            .client(.acknowledged(requestID: 1, task: 1)), .client(.acknowledged(requestID: 1, task: 2)),
            .client(.rejected(requestID: 1, reason: "a")), .client(.rejected(requestID: 1, reason: "b")),
            .client(.conflictingAck(requestID: 1, task: 1)),
            .client(.status(task: 1, status: .pending)), .client(.status(task: 1, status: .running(epoch: e1, saved: 0))),
            .client(.finished(task: 1, latency: .nanoseconds(5), completed: true)), .client(.finished(task: 1, latency: .nanoseconds(6), completed: true)),
            .client(.finished(task: 1, latency: .nanoseconds(5), completed: false)), .client(.allSubmitted),
        ]
        #expect(Set(observations.map(hash)).count == observations.count)
    }

    @Test("the generic Codable hashing separates structure and refuses dictionaries")
    func codableHashing() {
        struct Pair: SimPayload { var a: String; var b: String }
        func h(_ p: Pair) -> UInt64 { var f = TraceHash(); p.stableHash(into: &f); return f.value }
        #expect(h(Pair(a: "ab", b: "c")) != h(Pair(a: "a", b: "bc")))
        #expect(h(Pair(a: "x", b: "y")) == h(Pair(a: "x", b: "y")))
    }
}
