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
}

/// When voting stops.
public enum VotingPolicy: String, Codable, CaseIterable, Sendable {
    /// Waits for every vote.
    case naive
    /// Stops at V/2+1 votes for one choice, or when the leader can no longer be caught.
    case earlyMajority = "early_majority"
}
