import Core

/// What the checkers know about the run besides its events: who the clients are, when the
/// faults were healed, and the system's documented retry and budget settings, which say when
/// an abort is allowed.
public struct CheckContext: Sendable {
    /// The client nodes, each of which must see all of its requests through.
    public var clients: [Address]
    /// When the safety phase ended and every fault was healed.
    public var healAt: Instant
    /// Attempts of a round before a node may fail as malformed (`roundRetries + 1`).
    public var roundAttemptsMin: Int
    /// The owner's budget of failing calls before `llmUnavailable`.
    public var llmUnavailableAfter: Interval
    /// The gateway's budget without a live region before `noRegion`.
    public var noRegionAfter: Interval
    /// Whether at least one region can serve after the heal. Always true while every fault heals.
    public var regionServesAfterHeal: Bool
    /// Whether the LLMs answer after the heal. Always true while every fault heals.
    public var llmsAnswerAfterHeal: Bool
    /// The scenario's bounds on client-observed task latency, if any.
    public var latencyBudget: LatencyBudget?
    /// Whether a node's result is saved before any child uses it (every checkpoint policy but
    /// `none`, where results stay in memory until the task is done, so a crashed owner's
    /// children may have used results that were never saved).
    public var parentsSavedBeforeUse = true
    /// The gateway's admission limit and query limits, which say when a refusal is justified.
    public var openTasksMax = GatewaySettings(regions: [.region(1)]).openTasksMax
    public var queryLimits = QueryLimits()

    public init(
        clients: [Address] = [], healAt: Instant = .zero, roundAttemptsMin: Int = 3, llmUnavailableAfter: Interval = .seconds(300),
        noRegionAfter: Interval = .seconds(300), regionServesAfterHeal: Bool = true, llmsAnswerAfterHeal: Bool = true,
        latencyBudget: LatencyBudget? = nil
    ) {
        self.clients = clients
        self.healAt = healAt
        self.roundAttemptsMin = roundAttemptsMin
        self.llmUnavailableAfter = llmUnavailableAfter
        self.noRegionAfter = noRegionAfter
        self.regionServesAfterHeal = regionServesAfterHeal
        self.llmsAnswerAfterHeal = llmsAnswerAfterHeal
        self.latencyBudget = latencyBudget
    }
}

/// Bounds on client-observed task latency (first submit to the final status a client saw),
/// in virtual time. A run over either bound fails the latency invariant.
public struct LatencyBudget: Codable, Hashable, Sendable {
    public var mean: Interval?
    public var p99: Interval?
    public var max: Interval?
    /// The lower edge of the band, where a scenario is calibrated against measurements: a
    /// mean below it means tasks finished faster than the calibrated system can (a model of the
    /// LLM made faster, work skipped), which a ceiling alone lets pass.
    public var meanMin: Interval?
    /// The same for the median task.
    public var p50Min: Interval?

    public init(mean: Interval? = nil, p99: Interval? = nil, max: Interval? = nil, meanMin: Interval? = nil, p50Min: Interval? = nil) {
        self.mean = mean
        self.p99 = p99
        self.max = max
        self.meanMin = meanMin
        self.p50Min = p50Min
    }
}
