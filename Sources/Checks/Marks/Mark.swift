/// A named protocol moment a test should reach (FoundationDB's code probes, TigerBeetle's
/// marks): "a claim was refused as not newer", "a zombie's late write arrived". A mark never
/// changes a run: marks are read off the history both shells write (observations, messages,
/// timers and faults) by `MarkTracker`, after the fact, so a run with marks counted is the same
/// run, to the trace hash, as one without.
///
/// `agentos explore` reports every mark's hits and the marks no run reached;
/// `--require-marks` fails a sweep that never reached a required one. A mark that no run of a
/// scenario reaches means the scenario does not test that path: ten thousand clean seeds say
/// nothing about it.
public enum Mark: Int, CaseIterable, Sendable, CustomStringConvertible {
    // MARK: Store: claims, in the order a task changes hands
    /// A claim was applied: the task has a new owner at a newer epoch.
    case claimWon
    /// A claim already applied arrived again (a retry) and was taken as a repeat.
    case claimRepeated
    /// A claim not strictly newer than the task's epoch was refused: a lost claim race or a stale claimer.
    case claimRefusedNotNewer
    /// A claim for a task already completed or aborted was refused.
    case claimRefusedFinished
    /// A claim was applied at a global epoch above 1: the task moved to another region.
    case regionFailoverClaim
    /// A claim was applied at a regional epoch above 1: another proxy of the region took the task over.
    case proxyFailoverClaim
    /// A claim was sent while the store was down (crashed or without power): it must be retried, not lost.
    case claimDuringStoreOutage
    // MARK: Store: saves and finishes
    /// A node's result was checkpointed.
    case nodeSaved
    /// A round's winning plan was checkpointed (`node@round`, per-round checkpoints).
    case roundSaved
    /// A save already applied arrived again and was taken as a repeat.
    case saveRepeated
    /// A save or finish of a fenced owner arrived late and was refused as stale: a zombie's write.
    case zombieWriteRefused
    /// A save with a different result for an already saved node was refused; the owner adopts the stored one.
    case saveConflictRefused
    /// A task was finished as completed.
    case taskCompleted
    /// A task was finished or aborted as aborted.
    case taskAborted
    /// A finish already applied arrived again and was taken as a repeat.
    case finishRepeated
    /// A finish or abort for a task already ended was refused.
    case finishRefusedFinished
    /// A task was aborted because its LLM calls failed for the whole budget.
    case abortLLMUnavailable
    /// A task was aborted because no region was live for the whole budget.
    case abortNoRegion
    /// A task was aborted because every attempt of a round chose a malformed winner.
    case abortMalformedAnswers
    /// A task was aborted because the LLM refused a node's calls (a 4xx).
    case abortLLMRejected
    // MARK: Owners
    /// An owner stopped work on a task because the store fenced it.
    case ownerFenced
    /// An owner was fenced by a newer claim (the store named the newer epoch).
    case ownerFencedByNewerOwner
    /// A node was started again under a newer epoch: work redone after a takeover.
    case nodeRestarted
    /// A new owner started a node of a task whose earlier owner had saved a round of it.
    case resumedFromSavedRound
    /// A new owner started a node from parent results an earlier owner saved.
    case resumedWithSavedParents
    /// A task was claimed by a newer owner while its earlier owner's checkpoint write was still unanswered.
    case evictedWithSaveInFlight
    // MARK: Gateway and admission
    /// The store created a new task.
    case taskCreated
    /// A create with a known client key returned the task an earlier create made (an idempotent resubmit).
    case createRepeated
    /// A create reused a client key for a different query and was refused.
    case createKeyConflict
    /// A query was rejected as invalid.
    case queryRejected
    /// Admission control refused a submit: the cluster holds as many unfinished tasks as it takes.
    case admissionRefused
    /// A client was told the cluster is busy and when to try again.
    case submitBusy
    /// The gateway stopped waiting for a create the store never answered.
    case createLost
    // MARK: Regions
    /// A region ignored a heartbeat of an earlier life, or an older one of the same life.
    case staleHeartbeatIgnored
    /// A region told the gateway it cannot place a task (no live proxy).
    case cannotPlace
    /// The gateway assigned a task to a region at a global epoch above 1 (its region was lost).
    case regionReassigned
    // MARK: Workers and LLM calls
    /// An owner asked a worker which of its calls it still holds.
    case workCheckSent
    /// A worker answered a check holding fewer calls than it was asked about: work lost, sent again.
    case workFoundLost
    /// A worker answered an owner with a failed call (retries spent, or none configured).
    case workFailedToOwner
    /// A worker's queue was full and the call went elsewhere.
    case workQueueFull
    /// A proxy's worker called an LLM endpoint other than its own first one.
    case endpointFallback
    /// An LLM endpoint answered a call with a 5xx.
    case llmErrorReply
    /// An LLM endpoint answered a call with a 429.
    case llmRateLimited
    /// An LLM endpoint gave an answer with a content fault (malformed, truncated).
    case llmMalformedAnswer
    /// A worker's retried LLM call, after a timeout or an error, got an answer: a transient failure overcome.
    case llmRetrySucceeded
    // MARK: Timers
    /// An owner's backstop for a call sent to a worker fired (`workTimeout`).
    case backstopFired
    /// A worker's LLM call timed out.
    case llmTimeoutFired
    /// A role's store request went unanswered and was sent again.
    case storeRetryFired
    /// A call that met full queues everywhere was offered again.
    case capacityRetryFired
    // MARK: Clients
    /// A client got two different task ids for one request.
    case clientConflictingAck
    /// A client saw one of its tasks aborted.
    case clientSawAborted
    // MARK: Network
    /// The network lost a message.
    case messageLost
    /// A partition dropped a message.
    case messagePartitioned
    /// A message reached a node that was down.
    case messageToDownNode
    /// The network delivered a message twice.
    case messageDuplicated
    /// A message was delivered after a later one on the same link: reordering.
    case deliveryOvertaken
    /// A clog or pause held a message back.
    case messageHeld
    // MARK: Faults
    /// A node crashed (state and in-flight work lost).
    case nodeCrashed
    /// A crashed node restarted.
    case nodeCameBack
    /// A node was lost for good.
    case nodeKilled
    /// A node was paused (a stop-the-world stall).
    case nodePaused
    /// The store lost power: only what it had synced survived.
    case storePowerLoss
    /// The store lost power with its last unsynced write torn (part of its sectors on disk); recovery must discard it.
    case tornWriteAtPowerLoss
    /// A network partition began.
    case partitionStarted
    /// A node or link was clogged.
    case clogStarted
    /// A node's messages were delayed for a spell (overtaking becomes possible).
    case delaySpell

    /// The mark's name, as reports and `--require-marks` files spell it.
    public var name: String {
        switch self {
        case .claimWon: "claim-won"
        case .claimRepeated: "claim-repeated"
        case .claimRefusedNotNewer: "claim-refused-not-newer"
        case .claimRefusedFinished: "claim-refused-finished"
        case .regionFailoverClaim: "region-failover-claim"
        case .proxyFailoverClaim: "proxy-failover-claim"
        case .claimDuringStoreOutage: "claim-during-store-outage"
        case .nodeSaved: "node-saved"
        case .roundSaved: "round-saved"
        case .saveRepeated: "save-repeated"
        case .zombieWriteRefused: "zombie-write-refused"
        case .saveConflictRefused: "save-conflict-refused"
        case .taskCompleted: "task-completed"
        case .taskAborted: "task-aborted"
        case .finishRepeated: "finish-repeated"
        case .finishRefusedFinished: "finish-refused-finished"
        case .abortLLMUnavailable: "abort-llm-unavailable"
        case .abortNoRegion: "abort-no-region"
        case .abortMalformedAnswers: "abort-malformed-answers"
        case .abortLLMRejected: "abort-llm-rejected"
        case .ownerFenced: "owner-fenced"
        case .ownerFencedByNewerOwner: "owner-fenced-by-newer-owner"
        case .nodeRestarted: "node-restarted"
        case .resumedFromSavedRound: "resumed-from-saved-round"
        case .resumedWithSavedParents: "resumed-with-saved-parents"
        case .evictedWithSaveInFlight: "evicted-with-save-in-flight"
        case .taskCreated: "task-created"
        case .createRepeated: "create-repeated"
        case .createKeyConflict: "create-key-conflict"
        case .queryRejected: "query-rejected"
        case .admissionRefused: "admission-refused"
        case .submitBusy: "submit-busy"
        case .createLost: "create-lost"
        case .staleHeartbeatIgnored: "stale-heartbeat-ignored"
        case .cannotPlace: "cannot-place"
        case .regionReassigned: "region-reassigned"
        case .workCheckSent: "work-check-sent"
        case .workFoundLost: "work-found-lost"
        case .workFailedToOwner: "work-failed-to-owner"
        case .workQueueFull: "work-queue-full"
        case .endpointFallback: "endpoint-fallback"
        case .llmErrorReply: "llm-error-reply"
        case .llmRateLimited: "llm-rate-limited"
        case .llmMalformedAnswer: "llm-malformed-answer"
        case .llmRetrySucceeded: "llm-retry-succeeded"
        case .backstopFired: "backstop-fired"
        case .llmTimeoutFired: "llm-timeout-fired"
        case .storeRetryFired: "store-retry-fired"
        case .capacityRetryFired: "capacity-retry-fired"
        case .clientConflictingAck: "client-conflicting-ack"
        case .clientSawAborted: "client-saw-aborted"
        case .messageLost: "message-lost"
        case .messagePartitioned: "message-partitioned"
        case .messageToDownNode: "message-to-down-node"
        case .messageDuplicated: "message-duplicated"
        case .deliveryOvertaken: "delivery-overtaken"
        case .messageHeld: "message-held"
        case .nodeCrashed: "node-crashed"
        case .nodeCameBack: "node-came-back"
        case .nodeKilled: "node-killed"
        case .nodePaused: "node-paused"
        case .storePowerLoss: "store-power-loss"
        case .tornWriteAtPowerLoss: "torn-write-at-power-loss"
        case .partitionStarted: "partition-started"
        case .clogStarted: "clog-started"
        case .delaySpell: "delay-spell"
        }
    }

    /// One line on what the moment is.
    public var summary: String {
        switch self {
        case .claimWon: "A claim was applied: the task has a new owner at a newer epoch."
        case .claimRepeated: "A claim already applied arrived again (a retry) and was taken as a repeat."
        case .claimRefusedNotNewer: "A claim not strictly newer than the task's epoch was refused: a lost claim race or a stale claimer."
        case .claimRefusedFinished: "A claim for a task already completed or aborted was refused."
        case .regionFailoverClaim: "A claim was applied at a global epoch above 1: the task moved to another region."
        case .proxyFailoverClaim: "A claim was applied at a regional epoch above 1: another proxy of the region took the task over."
        case .claimDuringStoreOutage: "A claim was sent while the store was down (crashed or without power): it must be retried, not lost."
        case .nodeSaved: "A node's result was checkpointed."
        case .roundSaved: "A round's winning plan was checkpointed (`node@round`, per-round checkpoints)."
        case .saveRepeated: "A save already applied arrived again and was taken as a repeat."
        case .zombieWriteRefused: "A save or finish of a fenced owner arrived late and was refused as stale: a zombie's write."
        case .saveConflictRefused: "A save with a different result for an already saved node was refused; the owner adopts the stored one."
        case .taskCompleted: "A task was finished as completed."
        case .taskAborted: "A task was finished or aborted as aborted."
        case .finishRepeated: "A finish already applied arrived again and was taken as a repeat."
        case .finishRefusedFinished: "A finish or abort for a task already ended was refused."
        case .abortLLMUnavailable: "A task was aborted because its LLM calls failed for the whole budget."
        case .abortNoRegion: "A task was aborted because no region was live for the whole budget."
        case .abortMalformedAnswers: "A task was aborted because every attempt of a round chose a malformed winner."
        case .abortLLMRejected: "A task was aborted because the LLM refused a node's calls (a 4xx)."
        case .ownerFenced: "An owner stopped work on a task because the store fenced it."
        case .ownerFencedByNewerOwner: "An owner was fenced by a newer claim (the store named the newer epoch)."
        case .nodeRestarted: "A node was started again under a newer epoch: work redone after a takeover."
        case .resumedFromSavedRound: "A new owner started a node of a task whose earlier owner had saved a round of it."
        case .resumedWithSavedParents: "A new owner started a node from parent results an earlier owner saved."
        case .evictedWithSaveInFlight: "A task was claimed by a newer owner while its earlier owner's checkpoint write was still unanswered."
        case .taskCreated: "The store created a new task."
        case .createRepeated: "A create with a known client key returned the task an earlier create made (an idempotent resubmit)."
        case .createKeyConflict: "A create reused a client key for a different query and was refused."
        case .queryRejected: "A query was rejected as invalid."
        case .admissionRefused: "Admission control refused a submit: the cluster holds as many unfinished tasks as it takes."
        case .submitBusy: "A client was told the cluster is busy and when to try again."
        case .createLost: "The gateway stopped waiting for a create the store never answered."
        case .staleHeartbeatIgnored: "A region ignored a heartbeat of an earlier life, or an older one of the same life."
        case .cannotPlace: "A region told the gateway it cannot place a task (no live proxy)."
        case .regionReassigned: "The gateway assigned a task to a region at a global epoch above 1 (its region was lost)."
        case .workCheckSent: "An owner asked a worker which of its calls it still holds."
        case .workFoundLost: "A worker answered a check holding fewer calls than it was asked about: work lost, sent again."
        case .workFailedToOwner: "A worker answered an owner with a failed call (retries spent, or none configured)."
        case .workQueueFull: "A worker's queue was full and the call went elsewhere."
        case .endpointFallback: "A proxy's worker called an LLM endpoint other than its own first one."
        case .llmErrorReply: "An LLM endpoint answered a call with a 5xx."
        case .llmRateLimited: "An LLM endpoint answered a call with a 429."
        case .llmMalformedAnswer: "An LLM endpoint gave an answer with a content fault (malformed, truncated)."
        case .llmRetrySucceeded: "A worker's retried LLM call, after a timeout or an error, got an answer: a transient failure overcome."
        case .backstopFired: "An owner's backstop for a call sent to a worker fired (`workTimeout`)."
        case .llmTimeoutFired: "A worker's LLM call timed out."
        case .storeRetryFired: "A role's store request went unanswered and was sent again."
        case .capacityRetryFired: "A call that met full queues everywhere was offered again."
        case .clientConflictingAck: "A client got two different task ids for one request."
        case .clientSawAborted: "A client saw one of its tasks aborted."
        case .messageLost: "The network lost a message."
        case .messagePartitioned: "A partition dropped a message."
        case .messageToDownNode: "A message reached a node that was down."
        case .messageDuplicated: "The network delivered a message twice."
        case .deliveryOvertaken: "A message was delivered after a later one on the same link: reordering."
        case .messageHeld: "A clog or pause held a message back."
        case .nodeCrashed: "A node crashed (state and in-flight work lost)."
        case .nodeCameBack: "A crashed node restarted."
        case .nodeKilled: "A node was lost for good."
        case .nodePaused: "A node was paused (a stop-the-world stall)."
        case .storePowerLoss: "The store lost power: only what it had synced survived."
        case .tornWriteAtPowerLoss: "The store lost power with its last unsynced write torn (part of its sectors on disk); recovery must discard it. Counted by the simulated disk as the run goes, so `agentos check` on a trace file does not see it."
        case .partitionStarted: "A network partition began."
        case .clogStarted: "A node or link was clogged."
        case .delaySpell: "A node's messages were delayed for a spell (overtaking becomes possible)."
        }
    }

    public var description: String { name }

    /// The mark with this name; nil for any other.
    public init?(name: String) {
        guard let mark = Mark.byName[name] else { return nil }
        self = mark
    }

    static let byName = Dictionary(uniqueKeysWithValues: Mark.allCases.map { ($0.name, $0) })
}
