/// Which queued LLM call a worker serves next.
public enum SchedulingPolicy: String, Codable, CaseIterable, Sendable {
    /// In arrival order.
    case fifo
    /// The oldest task first (lowest task id), then arrival order.
    case arrivalPriority = "arrival_priority"
    /// The task with the fewest calls in all, R x (S + V), first.
    case sjf
    /// The task with the fewest calls left first (voters weighted one half).
    case srtf
}

/// Which worker a task owner sends a call to.
public enum BalancingPolicy: String, Codable, CaseIterable, Sendable {
    case random
    /// The worker with the lowest reported workload, counting the calls this owner has sent
    /// it since the report (greedy, plus one per call).
    case leastLoaded = "least_loaded"
    /// The reference system's least-loaded: the calls of one round (its samples, then its
    /// votes) are spread greedily over the last reported workloads, counting only that round's
    /// own calls, ties to the first worker in membership order, and at least two distinct
    /// workers for a round of several calls. Owners that start rounds between two reports all
    /// see the same loads and pile onto the same workers, so worker queues form well below
    /// the cluster's capacity: `agentos reproduce` runs it because the reference's scheduling
    /// results depend on those queues.
    case leastLoadedPerRound = "least_loaded_per_round"
}

/// When voting stops.
public enum VotingPolicy: String, Codable, CaseIterable, Sendable {
    /// Waits for every vote.
    case naive
    /// Stops at V/2+1 votes for one choice, or when the leader can no longer be caught.
    case earlyMajority = "early_majority"
}

/// What an owner writes to the store while a task runs, so a later owner resumes from it.
public enum CheckpointPolicy: String, Codable, CaseIterable, Sendable {
    /// After every round of every node: the round's winning plan (`node@round` in Progress),
    /// and each node's result. A new owner resumes a node from its last saved round.
    case perRound = "per-round"
    /// Each node's result when the node is done: a new owner reruns unfinished nodes whole.
    case perNode = "per-node"
    /// Nothing until the task is done: a new owner starts the task over.
    case none
}

/// The recovery timings: how quickly a dead proxy is noticed and its tasks handed on.
public struct RecoveryTimings: Codable, Hashable, Sendable {
    /// How often proxies heartbeat to their region, and regions to the gateway.
    public var heartbeat: Interval
    /// A proxy silent for this long is evicted and its tasks handed to another.
    public var proxyEviction: Interval
    /// How often a region reconciles its tasks with the store (the reference's recovery poll).
    public var regionSweep: Interval

    public init(heartbeat: Interval = .seconds(1), proxyEviction: Interval = .seconds(3), regionSweep: Interval = .seconds(5)) {
        self.heartbeat = heartbeat
        self.proxyEviction = proxyEviction
        self.regionSweep = regionSweep
    }

    /// Why the timings cannot run, in one line.
    public func problem() -> String? {
        guard heartbeat > .zero, proxyEviction > heartbeat, regionSweep > .zero else {
            return "timings must satisfy 0 < heartbeat < proxyEviction and regionSweep > 0"
        }
        return nil
    }
}
