import Checks
import Core
import Sim

/// A hand-written canonical hash of every Core message: a tag per case, then every field.
/// Messages are hashed once per send, which made the generic `Codable` hashing a tenth of a
/// scenario's cost. A test checks that every field reaches the hash.
extension CoreMessage {
    public func stableHash(into h: inout TraceHash) {
        switch self {
        case .submit(let id, let query): h.combine(byte: 1); h.combine(id); query.hash(into: &h)
        case .submitted(let id, let task): h.combine(byte: 2); h.combine(id); h.combine(task)
        case .submitRejected(let id, let reason): h.combine(byte: 3); h.combine(id); h.combine(reason)
        case .submitBusy(let id, let retryAfter, let reason): h.combine(byte: 20); h.combine(id); h.combine(retryAfter); h.combine(reason)
        case .statusQuery(let id, let task): h.combine(byte: 4); h.combine(id); h.combine(task)
        case .statusReply(let id, let status): h.combine(byte: 5); h.combine(id); status.hash(into: &h)
        case .storeRequest(let id, let request): h.combine(byte: 6); h.combine(id); request.hash(into: &h)
        case .storeReply(let id, let reply): h.combine(byte: 7); h.combine(id); reply.hash(into: &h)
        case .assign(let task, let epoch): h.combine(byte: 8); h.combine(task); epoch.hash(into: &h)
        case .regionHeartbeat(let region, let load): h.combine(byte: 9); h.combine(region); h.combine(load)
        case .cannotPlace(let task, let epoch, let reason): h.combine(byte: 10); h.combine(task); epoch.hash(into: &h); h.combine(reason)
        case .run(let task, let epoch, let owner): h.combine(byte: 11); h.combine(task); epoch.hash(into: &h); h.combine(owner.description)
        case .proxyHeartbeat(let proxy, let incarnation, let sequence, let workload):
            h.combine(byte: 12); h.combine(proxy); h.combine(incarnation); h.combine(sequence); h.combine(workload)
        case .membership(let proxies):
            h.combine(byte: 13); h.combine(proxies.count)
            for load in proxies { h.combine(load.proxy); h.combine(load.incarnation); h.combine(load.workload) }
        case .llmWork(let work):
            h.combine(byte: 14); h.combine(work.callID); h.combine(work.owner); h.combine(work.taskID); h.combine(work.node); h.combine(work.kind.rawValue)
            h.combine(work.prompt); TraceHash.combineAll(work.stop, into: &h); h.combine(work.maxTokens); h.combine(work.totalCalls); h.combine(work.remainingHalfCalls)
        case .llmWorkReply(let callID, let result):
            h.combine(byte: 15); h.combine(callID)
            switch result {
            case .text(let text): h.combine(byte: 1); h.combine(text)
            case .queueFull: h.combine(byte: 2)
            case .failed(let reason, let retryable, let status): h.combine(byte: 3); h.combine(reason); h.combine(retryable); h.combine(status)
            }
        case .llmWorkCheck(let owner, let ids):
            h.combine(byte: 18); h.combine(owner); h.combine(ids.count); for id in ids { h.combine(id) }
        case .llmWorkHeld(let ids):
            h.combine(byte: 19); h.combine(ids.count); for id in ids { h.combine(id) }
        case .llmRequest(let request):
            h.combine(byte: 16); h.combine(request.id); h.combine(request.prompt); TraceHash.combineAll(request.stop, into: &h); h.combine(request.maxTokens)
            h.combine(request.task); h.combine(request.node)
        case .llmReply(let reply):
            h.combine(byte: 17); h.combine(reply.id)
            switch reply.result {
            case .text(let text): h.combine(byte: 1); h.combine(text)
            case .error(let status, let message, let retryAfter):
                h.combine(byte: 2); h.combine(status); h.combine(message); h.combine(retryAfter?.nanoseconds ?? -1)
            }
        }
    }
}

extension Epoch {
    func hash(into h: inout TraceHash) { h.combine(global); h.combine(regional) }
}

extension Query {
    func hash(into h: inout TraceHash) {
        h.combine(taskName); h.combine(taskDescription); h.combine(nRounds); h.combine(nSamples); h.combine(nVoters)
        if let graph {
            h.combine(byte: 1); h.combine(graph.nodes.count)
            for node in graph.nodes {
                h.combine(node.id); h.combine(node.prompt ?? "\u{0}"); TraceHash.combineAll(node.dependsOn, into: &h)
            }
        } else {
            h.combine(byte: 0)
        }
        // Only when present, so queries without a key hash as they always did.
        if let requestKey { h.combine(byte: 2); h.combine(requestKey) }
    }
}

extension TraceHash {
    static func combineAll(_ strings: [String], into h: inout TraceHash) {
        h.combine(strings.count)
        for string in strings { h.combine(string) }
    }
}

extension TaskStatusView {
    func hash(into h: inout TraceHash) {
        switch self {
        case .pending: h.combine(byte: 1)
        case .running(let epoch, let saved): h.combine(byte: 2); epoch.hash(into: &h); h.combine(saved)
        case .completed(let result): h.combine(byte: 3); h.combine(result)
        case .aborted(let reason): h.combine(byte: 4); h.combine(reason)
        case .nonExist: h.combine(byte: 5)
        }
    }
}

extension TaskOutcome {
    func hash(into h: inout TraceHash) {
        switch self {
        case .completed(let result): h.combine(byte: 1); h.combine(result)
        case .aborted(let cause): h.combine(byte: 2); cause.hash(into: &h)
        }
    }
}

extension AbortCause {
    func hash(into h: inout TraceHash) {
        switch self {
        case .invalidTask(let detail): h.combine(byte: 1); h.combine(detail)
        case .malformedAnswers(let node, let round, let winners): h.combine(byte: 2); h.combine(node); h.combine(round); TraceHash.combineAll(winners, into: &h)
        case .llmRejected(let node, let status, let message): h.combine(byte: 3); h.combine(node); h.combine(status); h.combine(message)
        case .llmUnavailable(let node, let since, let failures): h.combine(byte: 4); h.combine(node); h.combine(since); h.combine(failures)
        case .noRegion(let since): h.combine(byte: 5); h.combine(since)
        }
    }
}

extension StoreRequest {
    func hash(into h: inout TraceHash) {
        switch self {
        case .createTask(let user, let type, let description, let plan, let request, let key):
            h.combine(byte: 1); h.combine(user); h.combine(type); h.combine(description); h.combine(plan); h.combine(request); h.combine(key)
        case .getTask(let task): h.combine(byte: 2); h.combine(task)
        case .taskStatus(let task): h.combine(byte: 9); h.combine(task)
        case .claim(let task, let epoch, let region, let owner):
            h.combine(byte: 3); h.combine(task); epoch.hash(into: &h); h.combine(region); h.combine(owner?.description ?? "")
        case .saveProgress(let task, let node, let epoch, let result, let digest):
            h.combine(byte: 4); h.combine(task); h.combine(node); epoch.hash(into: &h); h.combine(result); h.combine(digest)
        case .finish(let task, let epoch, let outcome): h.combine(byte: 5); h.combine(task); epoch.hash(into: &h); outcome.hash(into: &h)
        case .abort(let task, let epoch, let cause): h.combine(byte: 6); h.combine(task); epoch.hash(into: &h); cause.hash(into: &h)
        case .getProgressList(let task): h.combine(byte: 7); h.combine(task)
        case .unfinishedTasks(let region): h.combine(byte: 8); h.combine(region ?? "\u{0}")
        }
    }
}

extension StoreReply {
    func hash(into h: inout TraceHash) {
        switch self {
        case .created(let task): h.combine(byte: 1); h.combine(task)
        case .task(let record):
            h.combine(byte: 2)
            if let record { record.hash(into: &h) } else { h.combine(byte: 0) }
        case .write(let outcome): h.combine(byte: 3); outcome.hash(into: &h)
        case .progress(let rows):
            h.combine(byte: 4); h.combine(rows.count)
            for row in rows {
                h.combine(row.taskID); h.combine(row.nodeID); row.epoch.hash(into: &h); h.combine(row.result); h.combine(row.inputDigest)
            }
        case .tasks(let records):
            h.combine(byte: 5); h.combine(records.count)
            for record in records { record.hash(into: &h) }
        case .failed(let reason): h.combine(byte: 6); h.combine(reason)
        case .keyConflict(let task): h.combine(byte: 7); h.combine(task)
        case .status(let status): h.combine(byte: 8); status.hash(into: &h)
        }
    }
}

extension WriteOutcome {
    func hash(into h: inout TraceHash) {
        switch self {
        case .applied(let current, let repeated): h.combine(byte: 1); current.hash(into: &h); h.combine(repeated)
        case .rejected(let current, let reason):
            h.combine(byte: 2); if let current { current.hash(into: &h) } else { h.combine(byte: 0) }; h.combine(reason.rawValue)
        }
    }
}

extension TaskRecord {
    func hash(into h: inout TraceHash) {
        h.combine(taskID); h.combine(userID); h.combine(taskType); epoch.hash(into: &h); h.combine(taskDescription); h.combine(planJSON ?? "\u{0}")
        h.combine(ownerRegion); h.combine(ownerProxy); h.combine(status.rawValue); h.combine(result ?? "\u{0}"); h.combine(reason ?? "\u{0}")
        h.combine(requestDocumentID ?? -1); h.combine(responseDocumentID ?? -1)
    }
}

extension WorldTimer {
    public func stableHash(into h: inout TraceHash) {
        switch self {
        case .core(let timer):
            h.combine(byte: 1)
            switch timer {
            case .heartbeat: h.combine(byte: 1)
            case .sweep: h.combine(byte: 2)
            case .storeRetry(let id): h.combine(byte: 3); h.combine(id)
            case .llmTimeout(let id): h.combine(byte: 4); h.combine(id)
            case .llmRetry(let id): h.combine(byte: 5); h.combine(id)
            case .workTimeout(let id): h.combine(byte: 6); h.combine(id)
            case .workCheck: h.combine(byte: 7)
            case .capacityRetry(let id): h.combine(byte: 8); h.combine(id)
            }
        case .client(let timer):
            h.combine(byte: 2)
            switch timer {
            case .burst(let k): h.combine(byte: 1); h.combine(k)
            case .resubmit(let id): h.combine(byte: 2); h.combine(id)
            case .poll(let id): h.combine(byte: 3); h.combine(id)
            }
        case .llmDone(let id): h.combine(byte: 3); h.combine(id)
        case .llmWake: h.combine(byte: 4)
        }
    }
}

extension WorldObservation {
    /// Hashed by hand, every case: the generic `Codable` hashing of the store's write
    /// observations was a twentieth of a scenario's time.
    public func stableHash(into h: inout TraceHash) {
        switch self {
        case .llm(let call):
            h.combine(byte: 0xC1); h.combine(call.task); h.combine(call.node); h.combine(call.kind.rawValue); h.combine(call.promptDigest)
            h.combine(call.parents.count)
            for parent in call.parents { h.combine(parent.node); h.combine(parent.resultDigest) }
            h.combine(call.answerDigest ?? "\u{0}"); h.combine(call.status); h.combine(call.fault ?? "\u{0}")
        case .core(let observation):
            h.combine(byte: 0xC2); observation.hash(into: &h)
        case .client(let observation):
            h.combine(byte: 0xC3); observation.hash(into: &h)
        }
    }
}

extension CoreObservation {
    func hash(into h: inout TraceHash) {
        switch self {
        case .write(let task, let request, let epoch, let before, let outcome):
            h.combine(byte: 1); h.combine(task); request.hash(into: &h); epoch.hash(into: &h)
            if let before { h.combine(byte: 1); before.hash(into: &h) } else { h.combine(byte: 0) }
            outcome.hash(into: &h)
        case .nodeStarted(let task, let node, let epoch, let inputDigest, let parents):
            h.combine(byte: 2); h.combine(task); h.combine(node); epoch.hash(into: &h); h.combine(inputDigest)
            h.combine(parents.count)
            for parent in parents { h.combine(parent.node); h.combine(parent.resultDigest) }
        case .ownerFenced(let task, let epoch, let current):
            h.combine(byte: 3); h.combine(task); epoch.hash(into: &h)
            if let current { h.combine(byte: 1); current.hash(into: &h) } else { h.combine(byte: 0) }
        case .taskAcknowledged(let task): h.combine(byte: 4); h.combine(task)
        case .queryRejected(let reason): h.combine(byte: 5); h.combine(reason)
        case .admissionRefused(let open, let age): h.combine(byte: 6); h.combine(open); h.combine(age)
        case .taskCreated(let task, let key, let outcome): h.combine(byte: 8); h.combine(task); h.combine(key); h.combine(outcome.rawValue)
        case .createAdmitted(let key, let incarnation): h.combine(byte: 9); h.combine(key); h.combine(incarnation)
        case .createEnded(let key, let incarnation, let answered): h.combine(byte: 10); h.combine(key); h.combine(incarnation); h.combine(answered)
        case .staleHeartbeatIgnored(let proxy, let incarnation, let newest):
            h.combine(byte: 11); h.combine(proxy); h.combine(incarnation); h.combine(newest)
        case .note(let text): h.combine(byte: 7); h.combine(text)
        }
    }
}

extension WriteKind {
    func hash(into h: inout TraceHash) {
        switch self {
        case .claim(let region, let owner):
            h.combine(byte: 1); h.combine(region)
            if let owner { h.combine(byte: 1); h.combine(owner.proxy); h.combine(owner.incarnation) } else { h.combine(byte: 0) }
        case .progress(let node, let resultDigest, let inputDigest):
            h.combine(byte: 2); h.combine(node); h.combine(resultDigest); h.combine(inputDigest)
        case .finish(let status, let resultDigest, let cause):
            h.combine(byte: 3); h.combine(status.rawValue); h.combine(resultDigest)
            if let cause { h.combine(byte: 1); cause.hash(into: &h) } else { h.combine(byte: 0) }
        case .abort(let cause): h.combine(byte: 4); cause.hash(into: &h)
        }
    }
}

extension ClientObservation {
    func hash(into h: inout TraceHash) {
        switch self {
        case .submitted(let id, let query):
            h.combine(byte: 1); h.combine(id)
            if let query { h.combine(byte: 1); h.combine(CanonicalJSON.text(of: query)) } else { h.combine(byte: 0) }
        case .acknowledged(let id, let task): h.combine(byte: 2); h.combine(id); h.combine(task)
        case .rejected(let id, let reason): h.combine(byte: 3); h.combine(id); h.combine(reason)
        case .conflictingAck(let id, let task): h.combine(byte: 4); h.combine(id); h.combine(task)
        case .status(let task, let status): h.combine(byte: 5); h.combine(task); status.hash(into: &h)
        case .finished(let task, let latency, let completed): h.combine(byte: 6); h.combine(task); h.combine(latency); h.combine(completed)
        case .allSubmitted: h.combine(byte: 7)
        }
    }
}
