/// The seven invariants of design section 6; eight more that judge what users see: whether
/// an abort was justified, what clients learned, one task per request, what prompts carried,
/// whether every LLM call was answered, how long tasks took, whether refusals were justified
/// and the admission limit held; and one that holds regions to each proxy's newest life.
public enum Invariant: Int, Codable, CaseIterable, Sendable, CustomStringConvertible {
    case epochMonotonicity = 1
    case fencing
    case uniqueOwnership
    case progressImmutability
    case progressCorrectness
    case clientView
    case liveness
    case justifiedAborts
    case clientOutcome
    case exactlyOnce
    case promptCorrectness
    case callAccounting
    case latency
    case justifiedRejections
    case admissionBound
    case newestLifeClaims

    public var description: String { "invariant \(rawValue) (\(name))" }
}

/// The registry: every invariant's checker, which carries its metadata (name, whether it needs
/// a liveness phase) in its own file. The switch is exhaustive, so an invariant cannot be added
/// without its checker, and the suite is built from this list, never by hand.
extension Invariant {
    public var checker: any RegisteredChecker.Type {
        switch self {
        case .epochMonotonicity: EpochMonotonicityChecker.self
        case .fencing: FencingChecker.self
        case .uniqueOwnership: UniqueOwnershipChecker.self
        case .progressImmutability: ProgressImmutabilityChecker.self
        case .progressCorrectness: ProgressCorrectnessChecker.self
        case .clientView: ClientViewChecker.self
        case .liveness: LivenessChecker.self
        case .justifiedAborts: JustifiedAbortChecker.self
        case .clientOutcome: ClientOutcomeChecker.self
        case .exactlyOnce: ExactlyOnceChecker.self
        case .promptCorrectness: PromptChecker.self
        case .callAccounting: CallAccountingChecker.self
        case .latency: LatencyChecker.self
        case .justifiedRejections: JustifiedRejectionChecker.self
        case .admissionBound: AdmissionBoundChecker.self
        case .newestLifeClaims: NewestLifeClaimChecker.self
        }
    }

    /// The invariant's name in reports ("epoch monotonicity").
    public var name: String { checker.name }

    /// Checked only when the run had a liveness phase: they judge how the run ended.
    public var needsLiveness: Bool { checker.needsLiveness }
}
