import Checks
import Foundation
import Scenarios
import Sim

/// How a search picks its runs, for `bench find`.
public enum FindStrategy: String, CaseIterable, Codable, Sendable {
    /// Plain seeds of the named scenarios, in turn: what a user's CI runs.
    case scenarios
    /// Plain seeds of the swarm (each seed its own scenario and fault mix).
    case swarm
    /// Guided searches of the named scenarios, side by side: one run of each in turn, as
    /// `scenarios` takes them, each from its own corpus.
    case guided
    /// `explore --guided` over the swarm, from the same first seeds as `swarm`.
    case guidedSwarm = "guided-swarm"

    public var isGuided: Bool { self == .guided || self == .guidedSwarm }
}

/// `agentos bench find`: for each planted bug and strategy, the runs and CPU-seconds a search
/// spends before its first failing run, over several explorer seeds. Searches are sequential
/// in their runs' order (a batch runs in parallel, and the runs after the first failing one
/// are not counted), so the figures do not depend on `--jobs`; CPU-seconds are the children's
/// own CPU time of the counted runs, start-up excluded.
public struct FindBench: Sendable {
    public var bugs: [String]
    public var strategies: [FindStrategy] = FindStrategy.allCases
    /// Explorer seeds 1...explorers.
    public var explorers = 5
    /// Runs a search may spend before it counts as not finding the bug.
    public var budget = 300
    public var jobs = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// The scenarios of the `scenarios` strategy, taken in turn.
    public var scenarios = ScenarioLibrary.names.filter { $0 != "swarm" }
    public var progress = isatty(2) != 0
    /// A line on standard error per bug measured, for logs where no bar is drawn.
    public var notesPerBug = false

    public init(bugs: [String]) {
        self.bugs = bugs
    }

    /// The first plain seed of explorer `explorer`: far apart, so explorers share no run.
    public static func firstSeed(explorer: Int) -> UInt64 { UInt64(explorer - 1) * 1_000_000 + 1 }

    public func run() -> FindReport {
        var searches: [FindSearch] = []
        let total = bugs.count * strategies.count * explorers
        var bar = ProgressBar(total: total, label: "searches", enabled: progress)
        let (_, wall) = measure {
            for bug in bugs {
                for strategy in strategies {
                    for explorer in 1...explorers {
                        searches.append(search(bug: bug, strategy: strategy, explorer: explorer))
                        bar.update(searches.count, note: "\(bug) \(strategy.rawValue)")
                    }
                }
                if notesPerBug {
                    let found = searches.suffix(strategies.count * explorers).filter(\.found).count
                    FileHandle.standardError.write(Data("bench find: \(bug): found in \(found) of \(strategies.count * explorers) searches (\(searches.count) of \(total) done)\n".utf8))
                }
            }
        }
        bar.finish()
        return FindReport(budget: budget, explorers: explorers, searches: searches, wallSeconds: wall)
    }

    /// One search: runs in order until the first failing one, or the budget.
    public func search(bug: String, strategy: FindStrategy, explorer: Int) -> FindSearch {
        let first = Self.firstSeed(explorer: explorer)
        switch strategy {
        case .guided:
            return searchGuidedScenarios(bug: bug, explorer: explorer, first: first)
        case .guidedSwarm:
            var guided = GuidedSearch(scenario: "swarm", start: first, budget: budget, window: ScenarioLibrary.swarm(seed: first).phases.safety)
            (guided.jobs, guided.keep, guided.progress, guided.stopAtFirstFailure) = (jobs, 0, false, true)
            (guided.plant, guided.measuresCPU) = (bug, true)
            let outcome = guided.run()
            let runs = zip(outcome.results, outcome.recipes).map { (scenario: "swarm", recipe: $1, result: $0) }
            return FindSearch(bug: bug, strategy: strategy, explorer: explorer, runs: runs)
        case .swarm, .scenarios:
            let batch = strategy == .swarm ? 4 * jobs : scenarios.count
            return firstFailure(bug: bug, strategy: strategy, explorer: explorer) { done in
                (done..<min(budget, done + batch)).map { plainRun(strategy, index: $0, first: first) }
            }
        }
    }

    /// Runs the batches `plan` makes (from the runs done so far; none: the search is over), in
    /// order, until the first failing run or the budget; `took` hears each verdict in order.
    func firstFailure(
        bug: String, strategy: FindStrategy, explorer: Int, plan: (Int) -> [(String, Recipe)],
        took: (Int, Recipe, SeedResult) -> Void = { _, _, _ in }
    ) -> FindSearch {
        var runs: [(scenario: String, recipe: Recipe, result: SeedResult)] = []
        while runs.count < budget {
            let planned = plan(runs.count)
            if planned.isEmpty { break }
            for (position, ((scenario, recipe), result)) in zip(planned, runMixed(planned, plant: bug)).enumerated() {
                took(position, recipe, result)
                runs.append((scenario, recipe, result))
                if !result.passed { break }
            }
            if runs.last.map({ !$0.result.passed }) ?? false { break }
        }
        return FindSearch(bug: bug, strategy: strategy, explorer: explorer, runs: runs)
    }

    /// Plain seeds a guided search of one named scenario starts from.
    static let guidedWarmup = 3

    /// One guided search per named scenario, each asked for one run per round, in turn: the
    /// `scenarios` strategy's order, with each scenario's later runs chosen by its search.
    func searchGuidedScenarios(bug: String, explorer: Int, first: UInt64) -> FindSearch {
        var states = scenarios.map { name in
            var guided = GuidedSearch(scenario: name, start: first, budget: budget, window: (try? ScenarioLibrary.scenario(named: name, seed: first))?.phases.safety ?? .seconds(60))
            (guided.generation, guided.warmupRuns, guided.patienceRuns, guided.progress) = (1, Self.guidedWarmup, Int.max, false)
            return GuidedState(guided)
        }
        // Which scenario's search made each run of the batch in flight.
        var makers: [Int] = []
        return firstFailure(bug: bug, strategy: .guided, explorer: explorer) { done in
            var planned: [(String, Recipe)] = []
            makers = []
            for index in states.indices {
                guard done + planned.count < budget, let next = states[index].nextGeneration() else { continue }
                planned += next.map { (scenarios[index], $0) }
                makers += next.map { _ in index }
            }
            return planned
        } took: { position, recipe, result in
            states[makers[position]].take(recipe, result)
        }
    }

    /// Run `index` of a plain strategy: the swarm's seeds in order, or the named scenarios in
    /// turn, each on its next seed.
    func plainRun(_ strategy: FindStrategy, index: Int, first: UInt64) -> (String, Recipe) {
        switch strategy {
        case .scenarios: (scenarios[index % scenarios.count], Recipe(seed: first + UInt64(index / scenarios.count)))
        default: ("swarm", Recipe(seed: first + UInt64(index)))
        }
    }

    /// Runs of several scenarios in children (one child per scenario's share, `jobs` at a
    /// time), their verdicts in the order given.
    func runMixed(_ planned: [(String, Recipe)], plant: String) -> [SeedResult] {
        var byScenario: [String: [Recipe]] = [:]
        for (scenario, recipe) in planned { byScenario[scenario, default: []].append(recipe) }
        var chunks: [(RecipeRunner, [Recipe])] = []
        for scenario in byScenario.keys.sorted() {
            let recipes = byScenario[scenario]!
            let runner = RecipeRunner(scenario: scenario, jobs: jobs, plant: plant, measuresCPU: true)
            let size = max(1, (recipes.count + jobs - 1) / jobs)
            for start in stride(from: 0, to: recipes.count, by: size) { chunks.append((runner, Array(recipes[start..<min(start + size, recipes.count)]))) }
        }
        let results = RecipeRunner.gather(chunks, jobs: jobs)
        return planned.map { results[RecipeRunner.key($0.0, $0.1.description)] ?? SeedResult(seed: $0.1.seed, crashed: "no verdict came back") }
    }
}

/// One search's outcome: whether it found the bug, and what it spent until it did.
public struct FindSearch: Codable, Sendable {
    public var bug: String
    public var strategy: FindStrategy
    public var explorer: Int
    public var found: Bool
    /// Runs up to and including the first failing one (the whole budget when none failed).
    public var runs: Int
    public var cpuSeconds: Double
    /// The invariants the first failing run broke, by name.
    public var invariants: [String]
    /// How to run the first failing run again (nil when none failed).
    public var rerun: String?

    init(bug: String, strategy: FindStrategy, explorer: Int, runs: [(scenario: String, recipe: Recipe, result: SeedResult)]) {
        self.bug = bug
        self.strategy = strategy
        self.explorer = explorer
        let failing = runs.firstIndex { !$0.result.passed }
        let counted = failing.map { runs[...($0)] } ?? runs[...]
        found = failing != nil
        self.runs = counted.count
        cpuSeconds = counted.reduce(0) { $0 + ($1.result.cpuSeconds ?? 0) }
        if let failing {
            let run = runs[failing]
            invariants = run.result.crashed != nil ? ["crashed"] : run.result.invariants.compactMap { Invariant(rawValue: $0)?.name }
            rerun = run.recipe.rerun(scenario: run.scenario) + " --plant \(bug)"
        } else {
            invariants = []
            rerun = nil
        }
    }
}
