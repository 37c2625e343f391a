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

    public init(scenario: String, start: UInt64, budget: Int, window: Interval) {
        self.scenario = scenario
        self.start = start
        self.budget = budget
        self.window = window
    }

    /// Plain seeds the search starts from, before any branching.
    public var warmup: Int { min(budget, max(generation, budget / 8)) }
    /// Runs in a row without anything new after which the search stops early.
    public var patience: Int { max(6 * generation, budget / 3) }

    /// One corpus member: a run that reached something new.
    struct Member {
        var recipe: Recipe
        var firstHits: [String: Int64]
    }

    public struct Outcome: Sendable {
        public var results: [SeedResult]
        public var recipes: [Recipe]
        public var summary: ExploreSummary
    }

    public func run() -> Outcome {
        let runner = RecipeRunner(scenario: scenario, jobs: jobs, signature: stateSignature)
        var bar = ProgressBar(total: budget, label: "runs", enabled: progress)
        var random = SimRandom(seed: start, key: "guided-search")
        var results: [SeedResult] = []
        var recipes: [Recipe] = []
        var corpus: [Member] = []
        var seen: [Int: Int] = [:]
        var exemplars: [Int: [Int]] = [:]
        var sinceNew = 0
        var nextSeed = start
        var stoppedEarly = false
        var failingCount = 0
        let (_, wall) = measure {
            search: while results.count < budget {
                var batch: [Recipe] = []
                while batch.count < min(generation, budget - results.count) {
                    if results.count + batch.count < warmup || corpus.isEmpty {
                        batch.append(Recipe(seed: nextSeed))
                        nextSeed += 1
                    } else {
                        batch.append(branch(corpus: corpus, seen: seen, exemplars: exemplars, random: &random))
                    }
                }
                for (recipe, result) in zip(batch, runner.run(batch)) {
                    results.append(result)
                    recipes.append(recipe)
                    let features = Self.features(of: result)
                    let new = features.contains { seen[$0] == nil }
                    for feature in features { seen[feature, default: 0] += 1 }
                    if new {
                        corpus.append(Member(recipe: recipe, firstHits: result.firstHits ?? [:]))
                        for feature in features where exemplars[feature, default: []].count < Self.exemplarsPerFeature {
                            exemplars[feature, default: []].append(corpus.count - 1)
                        }
                        sinceNew = 0
                    } else {
                        sinceNew += 1
                    }
                    if !result.passed { failingCount += 1 }
                    bar.update(results.count, note: "\(corpus.count) in corpus, \(failingCount) failing")
                    if stopAtFirstFailure, !result.passed { break search }
                }
                if sinceNew >= patience {
                    stoppedEarly = true
                    break
                }
            }
        }
        bar.finish()
        let failing = zip(results, recipes).filter { !$0.0.passed }.map(\.1)
        let recorded = recordTraces(
            scenario: scenario, folder: traces,
            runs: failing.prefix(keep).enumerated().map { ($1, "seed-\($1.seed)-guided-\($0 + 1)") })
        let summary = ExploreSummary(
            scenario: scenario, start: start, rangeSeeds: UInt64(results.count), results: results, wall: wall, traces: recorded,
            guided: GuidedReport(
                budget: budget, corpus: corpus.count, features: seen.count, branched: recipes.filter { !$0.reseeds.isEmpty }.count,
                stoppedEarly: stoppedEarly, failingRecipes: failing.map(\.description)))
        return Outcome(results: results, recipes: recipes, summary: summary)
    }

    static let exemplarsPerFeature = 4
    /// Features past the marks' (mark x bucket) are failing invariants, then the state
    /// signature's (entry x bucket).
    static let invariantFeatures = 100_000
    static let signatureFeatures = 200_000

    /// What a run reached, as AFL counts edges: each mark with its hit count bucketed, each
    /// invariant it failed, and each entry of its state signature with its count bucketed.
    static func features(of result: SeedResult) -> [Int] {
        var features: [Int] = []
        for (name, hits) in result.marks ?? [:] {
            if let mark = Mark(name: name) { features.append(mark.rawValue * 8 + HitCount.bucket(hits)) }
        }
        features += result.invariants.map { invariantFeatures + $0 }
        features += (result.signature ?? []).map { signatureFeatures + $0 }
        return features.sorted()
    }

    /// A new recipe: one of the rarest features' exemplars, branched just after its first hit
    /// of that feature's mark (one time in four, or for a feature that is no mark, anywhere in
    /// the window instead).
    func branch(corpus: [Member], seen: [Int: Int], exemplars: [Int: [Int]], random: inout SimRandom) -> Recipe {
        // Half the time a mark, so runs branch at the moments marks name; else any feature,
        // the state signature's included.
        let marksOnly = random.chance(.oneIn(2))
        let candidates = seen.filter { !marksOnly || $0.key < Self.invariantFeatures }
        let rarest = (candidates.isEmpty ? seen : candidates).sorted { ($0.value, $0.key) < ($1.value, $1.key) }.prefix(4).map(\.key)
        let feature = rarest[random.int(in: 0...(rarest.count - 1))]
        let holders = exemplars[feature] ?? [0]
        let member = corpus[holders[random.int(in: 0...(holders.count - 1))]]
        let windowNanos = max(window.nanoseconds, 2)
        var at = Instant.nanoseconds(random.int64(in: 1...windowNanos))
        if feature < Self.invariantFeatures, !random.chance(.oneIn(4)), let mark = Mark(rawValue: feature / 8),
            let first = member.firstHits[mark.name]
        {
            at = .nanoseconds(first + 1)
        }
        return member.recipe.branched(at: at, seed: random.next() >> 11)
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
