import Foundation
import Mutation

/// What became of one mutant.
public enum MutantStatus: String, Codable, Sendable, CaseIterable {
    /// A checker failed on one of the budget's runs.
    case killed
    /// The run died (a `precondition` of the core fired, or the process crashed): a kill.
    case crashed
    /// A run gave no verdict within the timeout (the mutant made the core loop): a kill.
    case timedOut = "timed-out"
    /// Every run of the budget passed, and no allowlist entry explains it.
    case survived
    /// No run of the budget reached the mutated code (its switch was never read), so no run
    /// could kill it: the budget's blind spot, counted as a survivor.
    case notCovered = "not-covered"
    /// Every run passed, and the allowlist says why no run can tell it from the original.
    case equivalent

    public var isKill: Bool { self == .killed || self == .crashed || self == .timedOut }
}

/// One mutant's verdict: how it died (which checkers fired on the first failing run) or that
/// it survived, and what finding out cost.
public struct MutantResult: Codable, Sendable {
    public var mutant: Mutant
    public var status: MutantStatus
    /// The checkers that failed on the killing run ("crash" or "timeout" for those kills).
    public var killedBy: [String]
    /// The killing run, `SCENARIO@SEED`.
    public var killingRun: String?
    public var firstViolation: String?
    /// Runs made, the killing one included.
    public var runs: Int
    /// CPU time of those runs in their child, seconds (start-up excluded).
    public var cpuSeconds: Double
    /// The allowlist's reason, for an equivalent mutant.
    public var reason: String?
    /// Whether a run of the budget reached the mutated code (nil: not measured).
    public var reached: Bool?

    public var id: Int { mutant.id }

    /// A mutant no run reaches: not run at all.
    public static func notReached(_ mutant: Mutant) -> MutantResult {
        var result = MutantResult(mutant: mutant, status: .notCovered, runs: 0, cpuSeconds: 0)
        result.reached = false
        return result
    }

    public init(
        mutant: Mutant, status: MutantStatus, killedBy: [String] = [], killingRun: String? = nil, firstViolation: String? = nil, runs: Int,
        cpuSeconds: Double, reason: String? = nil
    ) {
        self.mutant = mutant
        self.status = status
        self.killedBy = killedBy
        self.killingRun = killingRun
        self.firstViolation = firstViolation
        self.runs = runs
        self.cpuSeconds = cpuSeconds
        self.reason = reason
    }

    /// Reads a child's outcome: the first failing verdict kills; a death after the last verdict
    /// kills at the run that was next in the plan.
    init(mutant: Mutant, plan: [ScenarioSeed], outcome: ChildOutcome) {
        let cpu = outcome.results.compactMap(\.cpuSeconds).reduce(0, +)
        if let failed = outcome.results.firstIndex(where: { !$0.passed }) {
            let result = outcome.results[failed]
            let names = (result.checks ?? []).filter { !$0.passed }.map(\.name)
            self.init(
                mutant: mutant, status: .killed, killedBy: names.isEmpty ? ["unknown"] : names,
                killingRun: ScenarioSeed(scenario: result.scenario ?? "?", seed: result.seed).description, firstViolation: result.firstViolation,
                runs: failed + 1, cpuSeconds: cpu)
        } else if let death = outcome.death {
            let next = outcome.results.count < plan.count ? plan[outcome.results.count].description : nil
            self.init(
                mutant: mutant, status: outcome.timedOut ? .timedOut : .crashed, killedBy: [outcome.timedOut ? "timeout" : "crash"],
                killingRun: next, firstViolation: death, runs: outcome.results.count + 1, cpuSeconds: cpu)
        } else if outcome.results.count < plan.count {
            // The child stopped early without a failure: it could not run the plan (a bad scenario).
            self.init(
                mutant: mutant, status: .crashed, killedBy: ["crash"], killingRun: plan[outcome.results.count].description,
                firstViolation: "the child gave \(outcome.results.count) of \(plan.count) verdicts", runs: outcome.results.count + 1, cpuSeconds: cpu)
        } else {
            self.init(mutant: mutant, status: .survived, runs: outcome.results.count, cpuSeconds: cpu)
        }
    }
}
