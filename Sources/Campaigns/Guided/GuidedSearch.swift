import Checks
import Foundation
import Scenarios
import Sim

/// `agentos explore --guided`: a coverage-guided search over runs of one scenario. It keeps a
/// corpus of runs that reached something no earlier run had (a mark, or a mark's hit count in
/// a new bucket, or a failing invariant), and makes each new run by branching a corpus member:
/// the member's run up to a chosen moment, its randomness drawn afresh from there
/// (`Recipe`). The moment is most often just after the member's first hit of a rarely reached
/// mark, as moonpool forks at a `sometimes` assertion: the search spends its runs on what
/// follows rare moments instead of re-reaching common ones.
///
/// Deterministic: the explorer's own choices come from `start`, runs go out in generations
/// of fixed size and their verdicts are taken in order, so the same `start` and budget give
/// the same runs and verdicts on any machine and any `--jobs`.
public struct GuidedSearch: Sendable {
    public var scenario: String
    public var start: UInt64
    /// Runs at most.
    public var budget: Int
    /// The span branch points are drawn from when not at a mark (the safety phase).
    public var window: Interval
    public var jobs = max(1, ProcessInfo.processInfo.activeProcessorCount)
    public var traces = "traces"
    public var keep = 5
    public var progress = isatty(2) != 0
    /// Runs per generation: what one round of choices is made from.
    public var generation = 8
    /// End at the first failing run (what `bench find` measures).
    public var stopAtFirstFailure = false
    /// Count the state signature's features as new too (`--state-signature`). Off by default:
    /// on the one real bug measured so far it found fewer failures (see `docs/PERFORMANCE.md`).
    public var stateSignature = false
    /// A planted bug every run has in place, and whether each run's CPU time is taken
    /// (`bench find`).
    public var plant: String?
    public var measuresCPU = false

    public init(scenario: String, start: UInt64, budget: Int, window: Interval) {
        self.scenario = scenario
        self.start = start
        self.budget = budget
        self.window = window
    }

    /// Set to override `warmup` and `patience` (`bench find` interleaves many small searches).
    public var warmupRuns: Int?
    public var patienceRuns: Int?

    /// Plain seeds the search starts from, before any branching.
    public var warmup: Int { min(budget, warmupRuns ?? max(generation, budget / 8)) }
    /// Runs in a row without anything new after which the search stops early.
    public var patience: Int { patienceRuns ?? max(6 * generation, budget / 3) }

    public struct Outcome: Sendable {
        public var results: [SeedResult]
        public var recipes: [Recipe]
        public var summary: ExploreSummary
    }

    public func run() -> Outcome {
        let runner = RecipeRunner(scenario: scenario, jobs: jobs, signature: stateSignature, plant: plant, measuresCPU: measuresCPU)
        var bar = ProgressBar(total: budget, label: "runs", enabled: progress)
        var state = GuidedState(self)
        let (_, wall) = measure {
            while let batch = state.nextGeneration() {
                for (recipe, result) in zip(batch, runner.run(batch)) {
                    state.take(recipe, result)
                    bar.update(state.results.count, note: "\(state.corpus.count) in corpus, \(state.failingCount) failing")
                    if state.finished { break }
                }
            }
        }
        bar.finish()
        let failing = state.failingRecipes
        let recorded = recordTraces(
            scenario: scenario, folder: traces,
            runs: failing.prefix(keep).enumerated().map { ($1, "seed-\($1.seed)-guided-\($0 + 1)") })
        let summary = ExploreSummary(
            scenario: scenario, start: start, rangeSeeds: UInt64(state.results.count), results: state.results, wall: wall, traces: recorded,
            guided: state.report)
        return Outcome(results: state.results, recipes: state.recipes, summary: summary)
    }

    /// One JUnit test case per run and checker, each named by its place in the search.
    public func junit(_ outcome: Outcome) -> JUnitReport {
        var report = JUnitReport()
        for (index, (result, recipe)) in zip(outcome.results, outcome.recipes).enumerated() {
            report.add(result, classname: "\(scenario).guided-\(index + 1)", rerun: recipe.rerun(scenario: scenario))
        }
        return report
    }
}

/// What a guided search adds to an explore summary.
public struct GuidedReport: Codable, Sendable, Equatable {
    public var budget: Int
    /// Runs kept for reaching something new, and the features (mark x hit bucket, failing invariant) seen.
    public var corpus: Int
    public var features: Int
    /// Runs made by branching a corpus member (the rest were plain seeds).
    public var branched: Int
    /// Whether the search ended before its budget because nothing new came for a while.
    public var stoppedEarly: Bool
    /// Each failing run's recipe (`agentos run --branch` re-runs one).
    public var failingRecipes: [String]
}
