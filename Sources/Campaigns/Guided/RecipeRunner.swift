import Foundation

/// Runs recipes in child processes (`explore-batch --recipes`), `jobs` at a time, and returns
/// their verdicts in the order given, whatever order the children finish in: so a guided
/// search sees the same results on any machine and any `--jobs`. A child that dies has its
/// recipes re-run one by one; the one that kills its process is reported as crashed.
struct RecipeRunner {
    var scenario: String
    var jobs: Int
    var signature = false
    /// A planted bug the children run with (`bench find`), and whether they time each run.
    var plant: String? = nil
    var measuresCPU = false

    func run(_ recipes: [Recipe]) -> [SeedResult] {
        let chunk = max(1, (recipes.count + jobs - 1) / jobs)
        let chunks = stride(from: 0, to: recipes.count, by: chunk).map { Array(recipes[$0..<min($0 + chunk, recipes.count)]) }
        let byRecipe = Self.gather(chunks.map { (self, $0) }, jobs: jobs)
        return recipes.map { byRecipe[Self.key(scenario, $0.description)] ?? SeedResult(seed: $0.seed, crashed: "no verdict came back") }
    }

    /// Where `gather` files a recipe's verdict: recipes are unique within a scenario only.
    static func key(_ scenario: String, _ recipe: String) -> String { "\(scenario) \(recipe)" }

    /// Runs each runner's chunk in its own child, `jobs` at a time; the verdicts by `key`.
    static func gather(_ chunks: [(RecipeRunner, [Recipe])], jobs: Int) -> [String: SeedResult] {
        let collected = Collected()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = jobs
        for (runner, recipes) in chunks {
            queue.addOperation {
                let got = runner.runChunk(recipes)
                collected.add(Dictionary(uniqueKeysWithValues: got.map { (key(runner.scenario, $0.key), $0.value) }))
            }
        }
        queue.waitUntilAllOperationsAreFinished()
        return collected.results
    }

    /// One child for these recipes; a crashed child's recipes one child each.
    func runChunk(_ recipes: [Recipe]) -> [String: SeedResult] {
        var arguments = ["explore-batch", "--scenario", scenario, "--recipes", recipes.map(\.description).joined(separator: ",")]
        if signature { arguments.append("--signature") }
        if let plant { arguments += ["--plant", plant] }
        if measuresCPU { arguments.append("--cpu") }
        let outcome = try? runChild(arguments)
        var got: [String: SeedResult] = [:]
        for result in seedResults(in: outcome?.stdout ?? "") { if let recipe = result.recipe { got[recipe] = result } }
        let missing = recipes.filter { got[$0.description] == nil }
        if !missing.isEmpty, recipes.count > 1 {
            for recipe in missing { got.merge(runChunk([recipe])) { first, _ in first } }
        } else if let recipe = missing.first {
            let reason = outcome.map { "the process \($0.status)" } ?? "the process could not start"
            var crashed = SeedResult(seed: recipe.seed, crashed: reason)
            crashed.recipe = recipe.description
            got[recipe.description] = crashed
        }
        return got
    }

    /// The chunks' results, gathered from the worker threads behind a lock.
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var byRecipe: [String: SeedResult] = [:]

        func add(_ results: [String: SeedResult]) {
            lock.lock()
            defer { lock.unlock() }
            byRecipe.merge(results) { first, _ in first }
        }

        var results: [String: SeedResult] {
            lock.lock()
            defer { lock.unlock() }
            return byRecipe
        }
    }
}
