import Checks
import Scenarios
import Sim

/// A guided search in progress: its corpus, what it has seen, and its choices. `GuidedSearch`
/// drives one to the end; `bench find` drives one per named scenario side by side. It asks
/// for a generation of recipes, then takes their verdicts in order, so the same `start` and
/// budget make the same choices whoever runs the recipes, and however many at once.
struct GuidedState {
    let search: GuidedSearch
    var random: SimRandom
    private(set) var results: [SeedResult] = []
    private(set) var recipes: [Recipe] = []
    private(set) var corpus: [Member] = []
    /// Runs that reached each feature, and the corpus members holding it (a few per feature).
    private var seen: [Int: Int] = [:]
    private var exemplars: [Int: [Int]] = [:]
    private var sinceNew = 0
    private var nextSeed: UInt64
    private(set) var stoppedEarly = false
    private(set) var failingCount = 0

    /// One corpus member: a run that reached something new.
    struct Member {
        var recipe: Recipe
        var firstHits: [String: Int64]
    }

    init(_ search: GuidedSearch) {
        self.search = search
        random = SimRandom(seed: search.start, key: "guided-search")
        nextSeed = search.start
    }

    /// Over: the budget spent, nothing new for too long, or (when asked) a run failed.
    var finished: Bool {
        results.count >= search.budget || stoppedEarly || (search.stopAtFirstFailure && failingCount > 0)
    }

    /// The next generation's recipes; nil when the search is over.
    mutating func nextGeneration() -> [Recipe]? {
        guard !finished else { return nil }
        var batch: [Recipe] = []
        while batch.count < min(search.generation, search.budget - results.count) {
            // After the warm-up, one run in four is still a fresh seed: a seed draws the
            // scenario's shape and fault plan, which no branch of another seed can change.
            if results.count + batch.count < search.warmup || corpus.isEmpty || random.chance(.oneIn(4)) {
                batch.append(Recipe(seed: nextSeed))
                nextSeed += 1
            } else {
                batch.append(branch())
            }
        }
        return batch
    }

    /// A run's verdict, in the order its generation was made.
    mutating func take(_ recipe: Recipe, _ result: SeedResult) {
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
            if sinceNew >= search.patience { stoppedEarly = true }
        }
        if !result.passed { failingCount += 1 }
    }

    /// The recipes of the runs that failed, in run order.
    var failingRecipes: [Recipe] { zip(results, recipes).filter { !$0.0.passed }.map(\.1) }

    var report: GuidedReport {
        GuidedReport(
            budget: search.budget, corpus: corpus.count, features: seen.count, branched: recipes.filter { !$0.reseeds.isEmpty }.count,
            stoppedEarly: stoppedEarly, failingRecipes: failingRecipes.map(\.description))
    }

    static let exemplarsPerFeature = 4
    /// Features past the marks' (mark x bucket) are failing invariants, then the state
    /// signature's (entry x bucket).
    static let invariantFeatures = 100_000
    static let signatureFeatures = 200_000
    /// How far before a mark's first hit a branch may start: enough to re-draw the lead-up to
    /// the moment (the race, the timeout), not only what follows it.
    static let leadMax = Interval.seconds(5)

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

    /// A new recipe: one of the rarest features' exemplars, branched around its first hit of
    /// that feature's mark (just after it, or shortly before it so the moment itself is drawn
    /// again), or one time in four, or for a feature that is no mark, anywhere in the window.
    mutating func branch() -> Recipe {
        // Half the time a mark, so runs branch at the moments marks name; else any feature,
        // the state signature's included.
        let marksOnly = random.chance(.oneIn(2))
        let candidates = seen.filter { !marksOnly || $0.key < Self.invariantFeatures }
        let rarest = (candidates.isEmpty ? seen : candidates).sorted { ($0.value, $0.key) < ($1.value, $1.key) }.prefix(4).map(\.key)
        let feature = rarest[random.int(in: 0...(rarest.count - 1))]
        let holders = exemplars[feature] ?? [0]
        let member = corpus[holders[random.int(in: 0...(holders.count - 1))]]
        let windowNanos = max(search.window.nanoseconds, 2)
        var at = Instant.nanoseconds(random.int64(in: 1...windowNanos))
        if feature < Self.invariantFeatures, !random.chance(.oneIn(4)), let mark = Mark(rawValue: feature / 8),
            let first = member.firstHits[mark.name]
        {
            let before = random.chance(.oneIn(2))
            at = .nanoseconds(before ? max(1, first - random.int64(in: 1...Self.leadMax.nanoseconds)) : first + 1)
        }
        // Half the branches draw the faults from there on afresh too: what a bug needs is often
        // a fault at the wrong moment, which the seed's own plan may never put there.
        let redrawsFaults = random.chance(.oneIn(2))
        return member.recipe.branched(at: at, seed: random.next() >> 11, redrawsFaults: redrawsFaults)
    }
}
