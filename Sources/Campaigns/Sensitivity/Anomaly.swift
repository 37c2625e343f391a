import Checks
import Core
import Foundation
import Scenarios

/// A kind of wrong history, injected into a clean recorded trace: what one checker exists to
/// flag. Each kind edits what was recorded (an observation added, changed or removed, a store
/// row added or taken away), never the system, so the corpus measures the checkers alone.
public enum Anomaly: String, CaseIterable, Codable, Sendable {
    /// A second owner claims an epoch another owner already holds.
    case secondOwner = "second-owner"
    /// A data write applied at an epoch other than the task's: a fenced writer got through.
    case fencedWriteApplied = "fenced-write-applied"
    /// A claim applied at an epoch no higher than the last one.
    case epochRegression = "epoch-regression"
    /// A saved node result replaced by another.
    case progressRewrite = "progress-rewrite"
    /// A task in the store that no acknowledged request asked for.
    case duplicateTask = "duplicate-task"
    /// A task acknowledged to its client and absent from the store at the end.
    case acknowledgedThenLost = "acknowledged-then-lost"
    /// A task finished as aborted with no cause.
    case abortWithoutCause = "abort-without-cause"
    /// A generation prompt that left out one of its node's parents.
    case promptMissingParent = "prompt-missing-parent"
    /// A worker never answers a call and later says it no longer holds it: the call was lost.
    case lostCall = "lost-call"
    /// A client saw a finished task running again.
    case statusRegression = "status-regression"
    /// An acknowledged task still running in the store when the run ended.
    case stuckTask = "stuck-task"
    /// A node started from a parent result other than the saved one.
    case staleParent = "stale-parent"
    /// A task whose client waited far past the scenario's latency budget.
    case slowTask = "slow-task"
    /// A valid query refused, its key never used for another query.
    case unjustifiedRejection = "unjustified-rejection"
    /// More unfinished tasks created at once than the admission limit allows.
    case overAdmission = "over-admission"
    /// A region's claim naming a proxy life earlier than one it has heard from.
    case deadLifeClaim = "dead-life-claim"

    /// The checker each kind is for.
    public var invariant: Invariant {
        switch self {
        case .secondOwner: .uniqueOwnership
        case .fencedWriteApplied: .fencing
        case .epochRegression: .epochMonotonicity
        case .progressRewrite: .progressImmutability
        case .duplicateTask: .exactlyOnce
        case .acknowledgedThenLost: .clientOutcome
        case .abortWithoutCause: .justifiedAborts
        case .promptMissingParent: .promptCorrectness
        case .lostCall: .callAccounting
        case .statusRegression: .clientView
        case .stuckTask: .liveness
        case .staleParent: .progressCorrectness
        case .slowTask: .latency
        case .unjustifiedRejection: .justifiedRejections
        case .overAdmission: .admissionBound
        case .deadLifeClaim: .newestLifeClaims
        }
    }

    /// The places in `trace` this kind can go, each an index the injection takes.
    func sites(in trace: EditableTrace) -> [Int] {
        switch self {
        case .secondOwner, .epochRegression:
            return trace.observations().filter { appliedClaim($0.observation) != nil }.map(\.index)
        case .fencedWriteApplied, .progressRewrite:
            return trace.observations().filter { isAppliedProgress($0.observation) }.map(\.index)
        case .duplicateTask:
            return trace.end.tasks.indices.map { $0 }
        case .acknowledgedThenLost:
            let stored = Set(trace.end.tasks.map(\.taskID))
            return trace.observations().filter { entry in
                if case .client(.acknowledged(_, let task)) = entry.observation { return stored.contains(task) }
                return false
            }.map(\.index)
        case .abortWithoutCause:
            return trace.observations().filter { entry in
                if case .core(.write(_, .finish(.completed, _, _), _, _, .applied(_, false))) = entry.observation { return true }
                return false
            }.map(\.index)
        case .promptMissingParent:
            return trace.observations().filter { entry in
                if case .llm(let call) = entry.observation { return call.kind == .generation && !call.parents.isEmpty }
                return false
            }.map(\.index)
        case .lostCall:
            return trace.events.indices.filter { index in
                if case .llmWorkReply? = trace.events[index].msg, trace.events[index].k == "send" { return true }
                return false
            }
        case .statusRegression:
            return trace.observations().filter { entry in
                if case .client(.status(_, .completed)) = entry.observation { return true }
                return false
            }.map(\.index)
        case .stuckTask:
            return trace.end.tasks.indices.filter { trace.end.tasks[$0].status.isFinished }
        case .staleParent:
            return trace.observations().filter { entry in
                if case .core(.nodeStarted(_, _, _, _, let parents)) = entry.observation { return !parents.isEmpty }
                return false
            }.map(\.index)
        case .deadLifeClaim:
            // A region's first send of a claim for a proxy whose heartbeat it has been
            // delivered before (so it knows that life).
            var delivered: Set<String> = []
            var heartbeats: [UInt64: String] = [:]
            var sites: [Int] = []
            for (index, line) in trace.events.enumerated() {
                if line.k == "send", case .proxyHeartbeat(let proxy, _, _, _)? = line.msg, let id = line.id, let region = line.to {
                    heartbeats[id] = "\(region)|\(proxy)"
                } else if line.k == "deliver", let id = line.id, let heard = heartbeats[id] {
                    delivered.insert(heard)
                } else if line.k == "send", case .storeRequest(_, .claim(_, _, _, let owner?))? = line.msg, let region = line.from,
                    delivered.contains("\(region)|\(owner.proxy)")
                {
                    sites.append(index)
                }
            }
            return sites
        case .overAdmission:
            return trace.observations().filter { entry in
                if case .core(.taskCreated(_, _, .new)) = entry.observation { return true }
                return false
            }.map(\.index)
        case .unjustifiedRejection:
            return trace.observations().filter { entry in
                if case .client(.submitted(_, let query?)) = entry.observation { if case .success = TaskPlan.validate(query, limits: QueryLimits()) { return true } }
                return false
            }.map(\.index)
        case .slowTask:
            // Only where the run has a latency ceiling to be over.
            guard trace.latencyMax != nil else { return [] }
            return trace.observations().filter { entry in
                if case .client(.finished) = entry.observation { return true }
                return false
            }.map(\.index)
        }
    }

    /// Injects one anomaly of this kind at `site` (one of `sites(in:)`).
    func inject(into trace: inout EditableTrace, at site: Int) {
        switch self {
        case .secondOwner:
            let (task, region, owner, epoch, before) = appliedClaim(trace.events[site].obs!)!
            let intruder = Owner(proxy: Address("proxy-intruder"), incarnation: (owner?.incarnation ?? 0) + 1)
            trace.insert(.core(.write(task: task, request: .claim(region: region, owner: intruder), epoch: epoch, before: before, outcome: .applied(current: epoch, repeated: false))), after: site)
        case .epochRegression:
            let (task, region, owner, epoch, _) = appliedClaim(trace.events[site].obs!)!
            let older = Epoch(global: max(epoch.global - 1, 0), regional: 0)
            trace.insert(.core(.write(task: task, request: .claim(region: region, owner: owner), epoch: older, before: nil, outcome: .applied(current: older, repeated: false))), after: site)
        case .fencedWriteApplied:
            guard case .core(.write(let task, let kind, let epoch, let before, _)) = trace.events[site].obs! else { return }
            let elsewhere = Epoch(global: epoch.global + 5, regional: epoch.regional + 5)
            trace.events[site].obs = .core(.write(task: task, request: kind, epoch: elsewhere, before: before, outcome: .applied(current: elsewhere, repeated: false)))
        case .progressRewrite:
            guard case .core(.write(let task, .progress(let node, _, let input), let epoch, let before, _)) = trace.events[site].obs! else { return }
            trace.insert(.core(.write(task: task, request: .progress(node: node, resultDigest: "0xrewritten", inputDigest: input), epoch: epoch, before: before, outcome: .applied(current: epoch, repeated: false))), after: site)
        case .duplicateTask:
            var copy = trace.end.tasks[site]
            copy.taskID = (trace.end.tasks.map(\.taskID).max() ?? 0) + 1000
            trace.end.tasks.append(copy)
        case .acknowledgedThenLost:
            guard case .client(.acknowledged(_, let task)) = trace.events[site].obs! else { return }
            trace.end.tasks.removeAll { $0.taskID == task }
            trace.end.progress.removeAll { $0.taskID == task }
        case .abortWithoutCause:
            guard case .core(.write(let task, .finish(_, let digest, _), let epoch, let before, let outcome)) = trace.events[site].obs! else { return }
            trace.events[site].obs = .core(.write(task: task, request: .finish(status: .aborted, resultDigest: digest, cause: nil), epoch: epoch, before: before, outcome: outcome))
        case .promptMissingParent:
            guard case .llm(var call) = trace.events[site].obs! else { return }
            call.parents.removeFirst()
            trace.events[site].obs = .llm(call)
        case .lostCall:
            // The worker never answers the call; asked about it later, it says it no longer
            // holds it: the history of a call a worker dropped.
            guard case .llmWorkReply(let callID, _)? = trace.events[site].msg, let worker = trace.events[site].from,
                let owner = trace.events[site].to, let replyID = trace.events[site].id
            else { return }
            let ids = trace.events.compactMap(\.id)
            let check = (ids.max() ?? 0) + 1
            var ask = trace.events[site]
            (ask.id, ask.from, ask.to, ask.msg) = (check, owner, worker, .llmWorkCheck(owner: Address(owner), callIDs: [callID]))
            var delivered = ask
            (delivered.k, delivered.msg) = ("deliver", nil)
            var answer = trace.events[site]
            (answer.id, answer.msg) = (check + 1, .llmWorkHeld(callIDs: []))
            trace.events.removeAll { ($0.k == "deliver" || $0.k == "drop" || $0.k == "duplicate") && $0.id == replyID }
            let at = trace.events.firstIndex { $0.k == "send" && $0.id == replyID }!
            trace.events.replaceSubrange(at...at, with: [ask, delivered, answer])
        case .statusRegression:
            guard case .client(.status(let task, _)) = trace.events[site].obs! else { return }
            trace.insert(.client(.status(task: task, status: .running(epoch: Epoch(global: 1, regional: 1), saved: 0))), after: site)
        case .stuckTask:
            trace.end.tasks[site].status = .running
        case .staleParent:
            guard case .core(.nodeStarted(let task, let node, let epoch, let input, var parents)) = trace.events[site].obs! else { return }
            parents[0].resultDigest = "0xstale"
            trace.events[site].obs = .core(.nodeStarted(task: task, node: node, epoch: epoch, inputDigest: input, parents: parents))
        case .deadLifeClaim:
            guard case .storeRequest(let requestID, .claim(let task, let epoch, let region, let owner?))? = trace.events[site].msg else { return }
            let earlier = Owner(proxy: owner.proxy, incarnation: owner.incarnation &- 1)
            trace.events[site].msg = .storeRequest(requestID: requestID, .claim(task, epoch: epoch, region: region, owner: earlier))
        case .overAdmission:
            // As many new tasks at once as the limit allows, and one more, none of them finished.
            guard case .core(.taskCreated(_, let key, _)) = trace.events[site].obs! else { return }
            let first = (trace.end.tasks.map(\.taskID).max() ?? 0) + 10_000
            for offset in 0...trace.openTasksMax {
                trace.insert(.core(.taskCreated(task: first + TaskID(offset), key: "\(key)-flood-\(offset)", outcome: .new)), after: site)
            }
        case .unjustifiedRejection:
            guard case .client(.submitted(let requestID, _)) = trace.events[site].obs! else { return }
            trace.insert(.client(.rejected(requestID: requestID, reason: "refused")), after: site)
        case .slowTask:
            guard case .client(.finished(let task, _, let completed)) = trace.events[site].obs!, let ceiling = trace.latencyMax else { return }
            trace.events[site].obs = .client(.finished(task: task, latency: ceiling * 2, completed: completed))
        }
    }

    private func appliedClaim(_ observation: WorldObservation) -> (TaskID, Address, Owner?, Epoch, Epoch?)? {
        if case .core(.write(let task, .claim(let region, let owner), let epoch, let before, .applied(_, false))) = observation {
            return (task, region, owner, epoch, before)
        }
        return nil
    }

    private func isAppliedProgress(_ observation: WorldObservation) -> Bool {
        if case .core(.write(_, .progress, _, _, .applied(_, false))) = observation { return true }
        return false
    }
}
