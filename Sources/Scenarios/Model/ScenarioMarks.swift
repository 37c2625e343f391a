import Checks

extension ScenarioLibrary {
    /// The marks a named scenario is meant to reach: the moments it was built to produce. CI
    /// runs each scenario's seeds with these required (`explore --require-marks scenario`), so
    /// a change that quietly stops a scenario from reaching its path fails instead of passing
    /// vacuously. Each list holds marks the scenario's first ten seeds reach (most reach them in
    /// nearly every seed), never a mark chance alone hits now and then.
    public static func requiredMarks(_ name: String) -> [Mark]? {
        required[name]
    }

    static let required: [String: [Mark]] = [
        "smoke": [.taskCreated, .claimWon, .nodeSaved, .taskCompleted],
        "proxy-crash": [.nodeCrashed, .nodeCameBack, .proxyFailoverClaim, .nodeRestarted],
        "region-failover": [.regionFailoverClaim, .regionReassigned, .nodeRestarted],
        "zombie-owner": [.partitionStarted, .regionFailoverClaim, .ownerFencedByNewerOwner, .zombieWriteRefused],
        "cut-off-owner": [.partitionStarted, .ownerFenced, .zombieWriteRefused, .evictedWithSaveInFlight],
        "stale-heartbeats": [.staleHeartbeatIgnored, .claimRepeated, .ownerFenced, .zombieWriteRefused],
        "store-outage": [.nodeCrashed, .messageToDownNode, .storeRetryFired],
        "gateway-restart": [.nodeCrashed, .nodeCameBack, .taskCompleted],
        "llm-flaky": [.llmErrorReply, .llmMalformedAnswer, .llmTimeoutFired, .llmRetrySucceeded, .endpointFallback],
        "llm-transient": [.llmErrorReply, .workFailedToOwner],
        "llm-outage": [.llmErrorReply, .endpointFallback, .llmRetrySucceeded],
        "rate-limited": [.llmRateLimited, .llmRetrySucceeded],
        "graph-dag": [.proxyFailoverClaim, .resumedWithSavedParents],
        "lossy-network": [.messageLost, .messageDuplicated, .storeRetryFired, .workFoundLost, .claimRepeated],
        "region-loss": [.nodeKilled, .regionFailoverClaim, .regionReassigned],
        "late-writes": [.nodePaused, .messageHeld, .zombieWriteRefused, .saveConflictRefused, .evictedWithSaveInFlight],
        "claim-storm": [.claimRefusedNotNewer, .claimRepeated, .regionFailoverClaim, .proxyFailoverClaim],
        "power-loss": [.storePowerLoss, .tornWriteAtPowerLoss, .storeRetryFired],
        "admission": [.admissionRefused, .submitBusy, .createRepeated],
        "poisson": [.taskCreated, .taskCompleted, .llmRetrySucceeded],
        "fault-tolerance": [.nodeCrashed, .proxyFailoverClaim, .endpointFallback],
        "rolling-kill": [.roundSaved, .resumedFromSavedRound, .resumedWithSavedParents],
        "no-checkpoints": [.proxyFailoverClaim, .nodeRestarted],
        "swarm": [.nodeCrashed, .partitionStarted, .clogStarted, .messageHeld, .zombieWriteRefused, .regionFailoverClaim],
    ]
}
