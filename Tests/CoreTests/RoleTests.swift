import Testing
@testable import Core
import CoreTesting

@Suite("The roles together: placement, failover, fencing, resume")
struct RoleTests {
    @Test("a submitted task completes and its status reports the result")
    func taskCompletesEndToEnd() throws {
        let cluster = try EmbeddedCluster.standard()
        let request = cluster.submit(query())
        cluster.run(for: .seconds(60))
        let taskID = try #require(cluster.taskID(for: request))
        guard case .completed(let result) = cluster.status(taskID) else { Issue.record("status \(cluster.status(taskID))"); return }
        #expect(result.hasPrefix("answer-"))
        let record = try #require(try cluster.store.getTask(taskID))
        #expect(record.status == .completed)
        #expect(try cluster.store.getDocument(record.responseDocumentID!) == result)
        // Every saved result carries the digest of exactly the inputs it was computed from.
        let plan = try #require(record.plan)
        #expect(record.taskDescription == plan.query.taskDescription, "the seed's column holds the client's description")
        for row in try cluster.store.getProgressList(taskID) {
            let node = plan.graph.node(row.nodeID)!
            #expect(row.inputDigest == InputDigest.of(taskDescription: plan.query.taskDescription, node: node, parentResults: [:]))
        }
    }

    /// The request id of the sweep a gateway sends as it starts (nil: it sent none first).
    func firstSweep(_ started: [CoreEffect]) -> UInt64? {
        if case .send("store", .storeRequest(let sweep, .unfinishedTasks(nil)))? = started.first { return sweep }
        return nil
    }

    @Test("the client learns the task id only once the task is durable")
    func acknowledgeOnlyWhenDurable() throws {
        var gateway = Gateway(settings: GatewaySettings(regions: ["region-1"]), incarnation: 1)
        var random = SeededSource(seed: 1)
        let context = CoreContext(now: .nanoseconds(0), address: "gateway", incarnation: 1)
        // A (re)started gateway admits only once its first sweep has told it the open tasks.
        let sweep = try #require(firstSweep(gateway.handle(.start, context: context, random: &random)))
        let held = gateway.handle(.message(from: "client-1", .submit(requestID: 7, query: query())), context: context, random: &random)
        #expect(!held.contains { if case .send("store", .storeRequest(_, .createTask)) = $0 { true } else { false } }, "admitted before the first sweep: \(held)")
        let effects = gateway.handle(.message(from: "store", .storeReply(requestID: sweep, .tasks([]))), context: context, random: &random)
        #expect(!effects.contains { if case .send(_, .submitted) = $0 { true } else { false } })
        let create = effects.first { if case .send("store", .storeRequest(_, .createTask)) = $0 { true } else { false } }
        guard case .send("store", .storeRequest(let requestID, .createTask(_, _, _, _, _, let key)))? = create else {
            Issue.record("expected a createTask first: \(effects)")
            return
        }
        #expect(key == "client-1#7")
        let reply = gateway.handle(.message(from: "store", .storeReply(requestID: requestID, .created(5))), context: context, random: &random)
        #expect(reply.contains(.send(to: "client-1", .submitted(requestID: 7, taskID: 5))))
        #expect(reply.contains { if case .send("store", .storeRequest(_, .claim(5, let epoch, "region-1", nil))) = $0 { epoch == Epoch(global: 1, regional: 0) } else { false } })
    }

    @Test("a restarted gateway counts the unfinished tasks its first sweep reads before it admits, and refuses beyond its limit")
    func restartedGatewayCountsBeforeAdmitting() throws {
        var gateway = Gateway(settings: GatewaySettings(regions: ["region-1"], openTasksMax: 2), incarnation: 2)
        var random = SeededSource(seed: 1)
        let context = CoreContext(now: .nanoseconds(0), address: "gateway", incarnation: 2)
        let sweep = try #require(firstSweep(gateway.handle(.start, context: context, random: &random)))
        var second = query()
        second.taskDescription = "another"
        _ = gateway.handle(.message(from: "client-1", .submit(requestID: 1, query: query())), context: context, random: &random)
        _ = gateway.handle(.message(from: "client-1", .submit(requestID: 2, query: second)), context: context, random: &random)
        // Its earlier life left one task unfinished: one of the two held submits fits.
        let left = TaskRecord(
            taskID: 9, userID: 0, taskType: "t", epoch: Epoch(global: 1, regional: 1), taskDescription: "{}", ownerRegion: "region-1",
            ownerProxy: "proxy-1-1#1", status: .running, result: nil, reason: nil, requestDocumentID: nil, responseDocumentID: nil)
        let effects = gateway.handle(.message(from: "store", .storeReply(requestID: sweep, .tasks([left]))), context: context, random: &random)
        let creates = effects.filter { if case .send("store", .storeRequest(_, .createTask)) = $0 { true } else { false } }
        #expect(creates.count == 1, "\(effects)")
        #expect(effects.contains { if case .send("client-1", .submitBusy(2, _, _)) = $0 { true } else { false } }, "\(effects)")
        #expect(effects.contains { if case .observe(.admissionRefused(2, _)) = $0 { true } else { false } })
    }

    @Test("while the cluster is full, re-sending an acknowledged key gets its task id back, and the same key with another query is refused")
    func acknowledgedKeyAnsweredWhenFull() throws {
        var gateway = Gateway(settings: GatewaySettings(regions: ["region-1"], openTasksMax: 1), incarnation: 1)
        var random = SeededSource(seed: 1)
        let context = CoreContext(now: .nanoseconds(0), address: "gateway", incarnation: 1)
        let sweep = try #require(firstSweep(gateway.handle(.start, context: context, random: &random)))
        _ = gateway.handle(.message(from: "store", .storeReply(requestID: sweep, .tasks([]))), context: context, random: &random)
        var keyed = query()
        keyed.requestKey = "order-7"
        let submitted = gateway.handle(.message(from: "client-1", .submit(requestID: 1, query: keyed)), context: context, random: &random)
        let create = try #require(submitted.compactMap { effect -> UInt64? in
            if case .send("store", .storeRequest(let id, .createTask)) = effect { return id }
            return nil
        }.first)
        let created = gateway.handle(.message(from: "store", .storeReply(requestID: create, .created(5))), context: context, random: &random)
        #expect(created.contains { if case .send("client-1", .submitted(1, 5)) = $0 { true } else { false } }, "\(created)")

        // The one open task fills the cluster: the same key, from a fresh connection, gets task 5.
        let resent = gateway.handle(.message(from: "client-2", .submit(requestID: 1, query: keyed)), context: context, random: &random)
        #expect(resent.contains { if case .send("client-2", .submitted(1, 5)) = $0 { true } else { false } }, "\(resent)")
        #expect(!resent.contains { if case .send("store", .storeRequest(_, .createTask)) = $0 { true } else { false } })

        // The key with another query is not that task: refused like any new query.
        var changed = keyed
        changed.taskDescription = "something else"
        let conflicting = gateway.handle(.message(from: "client-2", .submit(requestID: 2, query: changed)), context: context, random: &random)
        #expect(conflicting.contains { if case .send("client-2", .submitBusy(2, _, _)) = $0 { true } else { false } }, "\(conflicting)")
        // A key never acknowledged is refused too.
        var other = query()
        other.requestKey = "order-8"
        let fresh = gateway.handle(.message(from: "client-3", .submit(requestID: 1, query: other)), context: context, random: &random)
        #expect(fresh.contains { if case .send("client-3", .submitBusy(1, _, _)) = $0 { true } else { false } }, "\(fresh)")
    }

    @Test("bad queries are rejected at the gateway with a reason, and nothing is stored")
    func badQueriesRejected() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 1)
        let cyclic = TaskGraph(nodes: [GraphNode(id: "a", dependsOn: ["b"]), GraphNode(id: "b", dependsOn: ["a"])])
        let dangling = TaskGraph(nodes: [GraphNode(id: "a", dependsOn: ["ghost"])])
        let repeated = TaskGraph(nodes: [GraphNode(id: "a"), GraphNode(id: "b", dependsOn: Array(repeating: "a", count: 20_000))])
        var oversized = query()
        oversized.taskDescription = String(repeating: "x", count: 20_000)
        let cases: [(Query, String)] = [
            (query(name: "summarize"), "unknown task_name 'summarize'"),
            (query(graph: cyclic), "graph: it has a cycle"),
            (query(graph: dangling), "depends on unknown node 'ghost'"),
            (query(graph: repeated), "node 'b' lists a parent in depends_on more than once"),
            (query(0, 3, 3), "n_rounds must be between 1 and 10, got 0"),
            (query(1, -2, 3), "n_samples must be between 1 and 16, got -2"),
            (query(1, 3, 0), "n_voters must be between 1 and 16, got 0"),
            (oversized, "task_description is 20000 bytes"),
        ]
        for (bad, reason) in cases {
            let request = cluster.submit(bad)
            cluster.run(for: .milliseconds(10))
            let rejection = try #require(cluster.rejection(for: request))
            #expect(rejection.contains(reason), "\(rejection)")
        }
        #expect(try cluster.store.allTasks().isEmpty)
    }

    @Test("claims step (g+1, 0) for a region and (g, r+1) for a proxy, before the owner starts")
    func claimOrder() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 1)
        _ = cluster.submit(query(1, 1, 1))
        cluster.run(for: .seconds(30))
        let claims = cluster.writes { if case .claim = $0 { true } else { false } }.filter { $0.3.isApplied }
        #expect(claims.map(\.2) == [Epoch(global: 1, regional: 0), Epoch(global: 1, regional: 1)])
        let claimIndex = try #require(cluster.observations.firstIndex { if case .write(_, .claim(_, let owner), _, _, let o) = $0.1 { owner != nil && o.isApplied } else { false } })
        let startIndex = try #require(cluster.observations.firstIndex { if case .nodeStarted = $0.1 { true } else { false } })
        #expect(claimIndex < startIndex)
    }

    @Test("a crashed proxy's task moves to another proxy, which resumes without re-running saved nodes")
    func proxyFailoverResumes() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 2)
        let chain = TaskGraph(nodes: [GraphNode(id: "a"), GraphNode(id: "b", dependsOn: ["a"]), GraphNode(id: "c", dependsOn: ["b"])])
        let request = cluster.submit(query(1, 2, 2, graph: chain))
        // Run until node a is saved, then crash its owner.
        while !cluster.writes({ if case .progress("a", _, _) = $0 { true } else { false } }).contains(where: { $0.3.isApplied }) {
            cluster.run(for: .milliseconds(100))
        }
        let taskID = try #require(cluster.taskID(for: request))
        let owner = try #require(try cluster.store.getTask(taskID)!.owner).proxy
        cluster.crash(owner)
        cluster.run(for: .seconds(60))
        guard case .completed = cluster.status(taskID) else { Issue.record("not completed: \(cluster.status(taskID))"); return }
        #expect(cluster.nodeStarts.filter { $0.1 == "a" }.count == 1, "node a must not run again")
        let record = try cluster.store.getTask(taskID)!
        #expect(record.epoch > Epoch(global: 1, regional: 1))
        #expect(record.owner?.proxy != owner)
    }

    @Test("a zombie owner cut off from its region is fenced at its next write and stops")
    func zombieOwnerIsFenced() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 2)
        cluster.llm.latency = .seconds(2)  // so the task is still running when the cut comes
        let request = cluster.submit(query(3, 2, 2))
        cluster.run(for: .seconds(3))
        let taskID = try #require(cluster.taskID(for: request))
        let zombieOwner = try #require(try cluster.store.getTask(taskID)).ownerProxy
        let zombie = try #require(Owner(zombieOwner), "owner '\(zombieOwner)' \(cluster.observations.map { "\($0.1)" })").proxy
        let zombieEpoch = try cluster.store.getTask(taskID)!.epoch
        cluster.cutLink(zombie, "region-1")  // it keeps talking to the store and the LLM
        cluster.run(for: .seconds(90))
        guard case .completed = cluster.status(taskID) else { Issue.record("not completed: \(cluster.status(taskID))"); return }
        // The zombie's writes at its old epoch were all rejected after the new claim.
        let newClaim = try #require(cluster.observations.firstIndex {
            if case .write(taskID, .claim, let epoch, _, let outcome) = $0.1 { epoch > zombieEpoch && outcome.isApplied } else { false }
        })
        let staleApplied = cluster.observations[newClaim...].contains {
            if case .write(taskID, .progress, zombieEpoch, _, let outcome) = $0.1 { outcome.isApplied } else { false }
        }
        #expect(!staleApplied)
        #expect(cluster.observations.contains { if case .ownerFenced(taskID, zombieEpoch, _) = $0.1 { true } else { false } })
        #expect((cluster.machines[zombie] as! AgentProxy).runningTasks[taskID] == nil, "the zombie must stop work on the task")
    }

    @Test("a crashed region's tasks move to another region by a (g+1, 0) claim")
    func regionFailover() throws {
        let cluster = try EmbeddedCluster.standard(regions: 2, proxies: 1)
        cluster.llm.latency = .seconds(2)  // still running when its region fails
        let request = cluster.submit(query(3, 2, 2))
        cluster.run(for: .seconds(2))
        let taskID = try #require(cluster.taskID(for: request))
        let first = try #require(try cluster.store.getTask(taskID))
        let region = Address(first.ownerRegion)
        cluster.crash(region)
        // Its proxies go with it, as when a whole region fails.
        guard case .region(let number)? = region.role else { Issue.record("owner region \(region) is not a region"); return }
        for p in 1...1 { cluster.crash(.proxy(region: number, index: p)) }
        cluster.run(for: .seconds(120))
        let record = try cluster.store.getTask(taskID)!
        #expect(record.status == .completed)
        #expect(record.ownerRegion != first.ownerRegion)
        #expect(record.epoch.global == first.epoch.global + 1)
    }

    @Test("with the reference's 2 s heartbeats, a region that loses every third heartbeat keeps its task: the gateway waits three intervals")
    func lostRegionHeartbeatsDoNotMoveTasks() throws {
        var spec = ClusterSpec(regions: 2, proxiesPerRegion: 1)
        spec.timings = RecoveryTimings(heartbeat: .seconds(2), proxyEviction: .seconds(6), regionSweep: .seconds(2))
        #expect(spec.gatewaySettings.regionTimeout == .seconds(6))
        let cluster = try EmbeddedCluster.standard(spec)
        cluster.llm.latency = .seconds(2)
        let request = cluster.submit(query(3, 2, 2))
        cluster.run(for: .seconds(3))
        let taskID = try #require(cluster.taskID(for: request))
        let first = try #require(try cluster.store.getTask(taskID))
        let region = Address(first.ownerRegion)
        // A silence of two intervals (4 s) every 6 s, for a minute: more than the old fixed 3 s.
        for _ in 0..<10 {
            cluster.dropNext = { message in
                if case .regionHeartbeat(let from, _) = message { return from == region }
                return false
            }
            cluster.run(for: .seconds(6))
        }
        cluster.run(for: .seconds(120))
        let record = try #require(try cluster.store.getTask(taskID))
        #expect(record.status == .completed)
        #expect(record.ownerRegion == first.ownerRegion && record.epoch.global == first.epoch.global, "the task moved: \(record.epoch)")
    }

    @Test("a restarted gateway answers every task's status from the store and still places new tasks")
    func gatewayRestartAnswersFromStore() throws {
        let cluster = try EmbeddedCluster.standard()
        let first = cluster.submit(query(1, 1, 1))
        cluster.run(for: .seconds(30))
        let done = try #require(cluster.taskID(for: first))
        cluster.restart("gateway")
        guard case .completed = cluster.status(done) else { Issue.record("\(cluster.status(done))"); return }
        #expect(cluster.status(999) == .nonExist)
        let second = cluster.submit(query(1, 1, 1))
        cluster.run(for: .seconds(30))
        guard case .completed = cluster.status(try #require(cluster.taskID(for: second))) else { Issue.record("second task"); return }
    }

    @Test("a task stored but never placed (gateway crash) is placed by the restarted gateway's sweep")
    func unplacedTaskIsPlacedAfterRestart() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 1)
        // Written as a store from before the plan column kept it: the plan in task_description.
        let id = try cluster.store.createTask(userID: 0, taskType: "code_generation", description: CanonicalJSON.encode(
            TaskPlan(query: query(1, 1, 1), graph: TaskGraph(nodes: [GraphNode(id: "main")])))).taskID
        cluster.run(for: .seconds(30))
        guard case .completed = cluster.status(id) else { Issue.record("\(cluster.status(id))"); return }
    }

    @Test("an LLM that refuses every call (HTTP 400) aborts the task as llmRejected, and the reason reaches the client")
    func refusalAborts() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 1)
        cluster.llm.script = { _, _ in .error(400) }
        let request = cluster.submit(query(1, 2, 2))
        cluster.run(for: .seconds(60))
        let taskID = try #require(cluster.taskID(for: request))
        guard case .aborted(let reason) = cluster.status(taskID) else { Issue.record("\(cluster.status(taskID))"); return }
        #expect(reason.contains("node 'main' failed: the LLM refused its calls with HTTP 400"))
        #expect(cluster.observations.contains {
            if case .write(taskID, .finish(.aborted, _, .llmRejected(node: "main", status: 400, _)?), _, _, .applied) = $0.1 { true } else { false }
        })
    }

    @Test("an LLM that fails (HTTP 500) delays the task while it lasts, and aborts it as llmUnavailable only after the budget")
    func unavailableLLM() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 1) {
            $0.worker.retries = 1
            $0.worker.backoff = .milliseconds(100)
            $0.llmUnavailableAfter = .seconds(60)
        }
        // A 20 s outage, shorter than the budget: the calls are sent again and the task completes.
        cluster.llm.script = { _, _ in cluster.now < .seconds(20) ? .error(500) : nil }
        let short = cluster.submit(query(1, 2, 2))
        cluster.run(for: .seconds(60))
        guard case .completed = cluster.status(try #require(cluster.taskID(for: short))) else { Issue.record("short outage"); return }
        // An outage for good: aborted once the node's calls have failed for 60 s, and not before.
        cluster.llm.script = { _, _ in .error(500) }
        let long = cluster.submit(query(1, 2, 2))
        cluster.run(for: .seconds(50))
        let taskID = try #require(cluster.taskID(for: long))
        #expect(!(try #require(try cluster.store.getTask(taskID)).status.isFinished), "still waiting within the budget")
        cluster.run(for: .seconds(60))
        guard case .aborted(let reason) = cluster.status(taskID) else { Issue.record("\(cluster.status(taskID))"); return }
        #expect(reason.contains("node 'main' failed: the LLM failed"))
    }

    @Test("an LLM call that never answers times out and is retried")
    func llmTimeoutAndRetry() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 1) { $0.worker.timeout = .seconds(2) }
        cluster.llm.script = { number, _ in number == 0 ? .silence : nil }
        let request = cluster.submit(query(1, 1, 1))
        cluster.run(for: .seconds(30))
        guard case .completed = cluster.status(try #require(cluster.taskID(for: request))) else { Issue.record("not completed"); return }
        #expect(cluster.llm.calls.count == 2, "the silent call and its retry")
        #expect(cluster.llm.calls[0].prompt == cluster.llm.calls[1].prompt)
    }

    @Test("a proxy that restarts between two heartbeats is noticed by its incarnation and its task re-claimed")
    func quickRestartIsRecovered() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 1)
        cluster.llm.latency = .seconds(1)
        let request = cluster.submit(query(3, 2, 2))
        cluster.run(for: .seconds(3))
        let taskID = try #require(cluster.taskID(for: request))
        let before = try #require(try cluster.store.getTask(taskID))
        #expect(before.ownerProxy == "proxy-1-1#1")
        cluster.restart("proxy-1-1")  // dies and comes back at once: reference bug 13
        cluster.run(for: .seconds(60))
        let after = try #require(try cluster.store.getTask(taskID))
        #expect(after.status == .completed)
        #expect(after.ownerProxy == "proxy-1-1#2")
        #expect(after.epoch > before.epoch)
    }

    @Test("a store outage stalls work but every owner resumes after it (no 'term expired' abandonment)")
    func storeOutageIsSurvived() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 2)
        cluster.llm.latency = .seconds(1)
        let request = cluster.submit(query(3, 2, 2))
        cluster.run(for: .seconds(3))
        let taskID = try #require(cluster.taskID(for: request))
        cluster.crash("store")
        cluster.run(for: .seconds(20))
        cluster.start("store")  // the durable database survives; in-flight replies were lost
        cluster.run(for: .seconds(90))
        #expect(try cluster.store.getTask(taskID)?.status == .completed)
    }

    @Test("a call lost on the way to its worker is found by the owner's check and sent again, long before the backstop")
    func lostWorkIsResent() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 2)
        cluster.dropNext = { if case .llmWork = $0 { true } else { false } }
        let request = cluster.submit(query(1, 2, 2))
        cluster.run(for: .seconds(40))  // the backstop is 300 s
        let taskID = try #require(cluster.taskID(for: request))
        guard case .completed = cluster.status(taskID) else { Issue.record("\(cluster.status(taskID))"); return }
        #expect(cluster.dropNext == nil, "the work message was dropped")
    }

    @Test("a task whose region has no proxy waits for one instead of being aborted, and completes when one comes")
    func unplaceableTaskWaits() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 1)
        cluster.crash("proxy-1-1")  // the region's only proxy
        let request = cluster.submit(query(1, 1, 1))
        cluster.run(for: .seconds(400))
        let taskID = try #require(cluster.taskID(for: request))
        #expect(cluster.status(taskID) == .pending)
        cluster.start("proxy-1-1")
        cluster.run(for: .seconds(30))
        guard case .completed = cluster.status(taskID) else { Issue.record("\(cluster.status(taskID))"); return }
    }

    @Test("with no live region for the gateway's budget, a task is aborted as noRegion, with the reason for the client")
    func noRegionAborts() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 1) { _ in } gatewaySettings: { $0.noRegionAfter = .seconds(60) }
        cluster.run(for: .seconds(5))
        cluster.crash("region-1")  // for good
        let request = cluster.submit(query(1, 1, 1))
        cluster.run(for: .seconds(40))
        let taskID = try #require(cluster.taskID(for: request))
        #expect(cluster.status(taskID) == .pending, "within the budget the task waits")
        cluster.run(for: .seconds(60))
        guard case .aborted(let reason) = cluster.status(taskID) else { Issue.record("\(cluster.status(taskID))"); return }
        #expect(reason.hasPrefix("no region was live since"))
        #expect(cluster.observations.contains { if case .write(taskID, .abort(.noRegion), _, _, .applied) = $0.1 { true } else { false } })
    }
}
