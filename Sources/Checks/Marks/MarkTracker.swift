import Core

/// Counts the marks a run reaches, from the history: the roles' observations, the messages
/// they send, their timers, and the simulated world's network and fault events (which its
/// bridge reports with `hit`). It only reads; a run fed to it is the run it would have been.
public struct MarkTracker: Sendable {
    /// Hits by mark, indexed by `Mark.rawValue`.
    public private(set) var hits = [Int](repeating: 0, count: Mark.allCases.count)
    /// When each mark was first hit (nanoseconds of the run's clock; -1: not yet), where guided
    /// exploration branches a run from.
    public private(set) var firstHitAt = [Int64](repeating: -1, count: Mark.allCases.count)
    /// The time of the event being read; the reader sets it before each event.
    public var now: Instant = .zero
    /// Each proxy's first LLM endpoint: a call to another is a fallback.
    let primaryEndpoint: [Address: Address]
    /// Tasks with a round saved, and tasks with a node saved.
    var savedRound: Set<TaskID> = []
    var savedNode: Set<TaskID> = []
    /// The epoch each task's node was first started under.
    var firstStart: [NodeKey: Epoch] = [:]
    /// The calls each owner last asked each worker about.
    var checking: [LinkKey: Int] = [:]
    /// Checkpoint writes sent and not yet answered, by sender and request id.
    var savesInFlight: [RequestKey: SaveInFlight] = [:]
    /// The worker whose backoff timer just fired: the call it sends next is a retry.
    var retryingWorker: Address?
    /// Retried LLM attempts not yet answered, by worker and request id.
    var retriesInFlight: Set<RequestKey> = []

    struct RequestKey: Hashable, Sendable {
        var sender: Address
        var request: UInt64
    }

    struct SaveInFlight: Sendable {
        var task: TaskID
        var epoch: Epoch
    }

    struct NodeKey: Hashable, Sendable {
        var task: TaskID
        var node: String
    }

    struct LinkKey: Hashable, Sendable {
        var owner: Address
        var worker: Address
    }

    /// `cluster` names each proxy's own endpoint, for `endpoint-fallback` (nil: not counted).
    public init(cluster: ClusterSpec? = nil) {
        var primary: [Address: Address] = [:]
        if let cluster {
            for proxy in cluster.proxyNames { primary[proxy] = cluster.proxySettings(proxy)?.llm }
        }
        primaryEndpoint = primary
    }

    public mutating func hit(_ mark: Mark) {
        if hits[mark.rawValue] == 0 { firstHitAt[mark.rawValue] = now.nanoseconds }
        hits[mark.rawValue] += 1
    }

    /// A message was delivered: whatever a timer's step sent is over.
    public mutating func delivered() { if retryingWorker != nil { retryingWorker = nil } }

    public func count(_ mark: Mark) -> Int { hits[mark.rawValue] }

    /// The marks reached, with their hits.
    public var reached: [(mark: Mark, hits: Int)] {
        Mark.allCases.compactMap { hits[$0.rawValue] > 0 ? ($0, hits[$0.rawValue]) : nil }
    }

    /// Hits by mark name, the marks reached only (what a seed's verdict carries).
    public var byName: [String: Int] { Dictionary(uniqueKeysWithValues: reached.map { ($0.mark.name, $0.hits) }) }

    /// When each reached mark was first hit, by name (nanoseconds).
    public var firstHitsByName: [String: Int64] {
        Dictionary(uniqueKeysWithValues: reached.map { ($0.mark.name, firstHitAt[$0.mark.rawValue]) })
    }

    public mutating func observe(_ observation: WorldObservation) {
        switch observation {
        case .core(let core): observe(core)
        case .client(.conflictingAck): hit(.clientConflictingAck)
        case .client(.status(_, .aborted)): hit(.clientSawAborted)
        case .client: break
        case .llm(let record):
            if record.status == 200, record.fault != nil { hit(.llmMalformedAnswer) }
        }
    }

    mutating func observe(_ observation: CoreObservation) {
        switch observation {
        case .write(let task, let kind, let epoch, _, let outcome):
            written(task: task, kind: kind, epoch: epoch, outcome: outcome)
        case .nodeStarted(let task, let node, let epoch, _, let parents):
            let key = NodeKey(task: task, node: node)
            guard let first = firstStart[key] else {
                firstStart[key] = epoch
                return
            }
            guard first != epoch else { return }
            hit(.nodeRestarted)
            if savedRound.contains(task) { hit(.resumedFromSavedRound) }
            if !parents.isEmpty, savedNode.contains(task) { hit(.resumedWithSavedParents) }
        case .ownerFenced(_, _, let current):
            hit(.ownerFenced)
            if current != nil { hit(.ownerFencedByNewerOwner) }
        case .taskCreated(_, _, .new): hit(.taskCreated)
        case .taskCreated(_, _, .existing): hit(.createRepeated)
        case .taskCreated(_, _, .conflict): hit(.createKeyConflict)
        case .queryRejected: hit(.queryRejected)
        case .admissionRefused: hit(.admissionRefused)
        case .createEnded(_, _, answered: false): hit(.createLost)
        case .staleHeartbeatIgnored: hit(.staleHeartbeatIgnored)
        case .taskAcknowledged, .createAdmitted, .createEnded, .note: break
        }
    }

    mutating func written(task: TaskID, kind: WriteKind, epoch: Epoch, outcome: WriteOutcome) {
        switch (kind, outcome) {
        case (.claim, .applied(_, repeated: true)): hit(.claimRepeated)
        case (.claim, .applied):
            hit(.claimWon)
            if !savesInFlight.isEmpty, savesInFlight.values.contains(where: { $0.task == task && $0.epoch < epoch }) {
                hit(.evictedWithSaveInFlight)
            }
            if epoch.global > 1 { hit(.regionFailoverClaim) }
            if epoch.regional > 1 { hit(.proxyFailoverClaim) }
        case (.claim, .rejected(_, .finished)): hit(.claimRefusedFinished)
        case (.claim, .rejected(_, .notNewer)): hit(.claimRefusedNotNewer)
        case (.progress, .applied(_, repeated: true)): hit(.saveRepeated)
        case (.progress(let node, _, _), .applied):
            if node.contains("@") {
                hit(.roundSaved)
                savedRound.insert(task)
            } else {
                hit(.nodeSaved)
                savedNode.insert(task)
            }
        case (.progress, .rejected(_, .conflict)): hit(.saveConflictRefused)
        case (.progress, .rejected(_, .staleEpoch)), (.finish, .rejected(_, .staleEpoch)), (.abort, .rejected(_, .staleEpoch)):
            hit(.zombieWriteRefused)
        case (.finish, .applied(_, repeated: true)), (.abort, .applied(_, repeated: true)): hit(.finishRepeated)
        case (.finish(.completed, _, _), .applied): hit(.taskCompleted)
        case (.finish(_, _, let cause), .applied): aborted(cause)
        case (.abort(let cause), .applied): aborted(cause)
        case (.finish, .rejected(_, .finished)), (.abort, .rejected(_, .finished)): hit(.finishRefusedFinished)
        default: break
        }
    }

    mutating func aborted(_ cause: AbortCause?) {
        hit(.taskAborted)
        switch cause {
        case .llmUnavailable?: hit(.abortLLMUnavailable)
        case .noRegion?: hit(.abortNoRegion)
        case .malformedAnswers?: hit(.abortMalformedAnswers)
        case .llmRejected?: hit(.abortLLMRejected)
        case .invalidTask?, nil: break
        }
    }

    /// A role sent `message`.
    public mutating func sent(_ message: CoreMessage, from: Address, to: Address) {
        switch message {
        case .submitBusy: hit(.submitBusy)
        case .cannotPlace: hit(.cannotPlace)
        case .assign(_, let epoch) where epoch.global > 1: hit(.regionReassigned)
        case .llmWorkCheck(_, let callIDs):
            hit(.workCheckSent)
            checking[LinkKey(owner: from, worker: to)] = callIDs.count
        case .llmWorkHeld(let callIDs):
            if let asked = checking.removeValue(forKey: LinkKey(owner: to, worker: from)), callIDs.count < asked { hit(.workFoundLost) }
        case .llmWorkReply(_, .failed): hit(.workFailedToOwner)
        case .llmWorkReply(_, .queueFull): hit(.workQueueFull)
        case .llmRequest(let request):
            if let primary = primaryEndpoint[from], primary != to { hit(.endpointFallback) }
            if retryingWorker == from {
                retriesInFlight.insert(RequestKey(sender: from, request: request.id))
                retryingWorker = nil
            }
        case .llmReply(let reply):
            let retried = !retriesInFlight.isEmpty && retriesInFlight.remove(RequestKey(sender: to, request: reply.id)) != nil
            switch reply.result {
            case .error(let status, _, _): hit(status == 429 ? .llmRateLimited : .llmErrorReply)
            case .text: if retried { hit(.llmRetrySucceeded) }
            }
        case .storeRequest(let id, .saveProgress(let task, _, let epoch, _, _)):
            savesInFlight[RequestKey(sender: from, request: id)] = SaveInFlight(task: task, epoch: epoch)
        case .storeReply(let id, _):
            if !savesInFlight.isEmpty { savesInFlight.removeValue(forKey: RequestKey(sender: to, request: id)) }
        default: break
        }
    }

    /// Whether a store reply can answer a checkpoint write being followed (else it need not be looked at).
    public var followsSaves: Bool { !savesInFlight.isEmpty }

    /// One of `node`'s timers fired.
    public mutating func fired(_ timer: CoreTimer, at node: Address) {
        retryingWorker = nil
        switch timer {
        case .workTimeout: hit(.backstopFired)
        case .llmTimeout: hit(.llmTimeoutFired)
        case .storeRetry: hit(.storeRetryFired)
        case .capacityRetry: hit(.capacityRetryFired)
        case .llmRetry: retryingWorker = node
        case .heartbeat, .sweep, .workCheck: break
        }
    }
}
