import Foundation

/// Runs recipes in child processes (`explore-batch --recipes`), `jobs` at a time, and returns
/// their verdicts in the order given, whatever order the children finish in: so a guided
/// search sees the same results on any machine and any `--jobs`. A child that dies has its
/// recipes re-run one by one; the one that kills its process is reported as crashed.
struct RecipeRunner {
    var scenario: String
    var jobs: Int
    var signature = false

    func run(_ recipes: [Recipe]) -> [SeedResult] {
        let chunk = max(1, (recipes.count + jobs - 1) / jobs)
        let chunks = stride(from: 0, to: recipes.count, by: chunk).map { Array(recipes[$0..<min($0 + chunk, recipes.count)]) }
        let collected = Collected()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = jobs
        for recipes in chunks { queue.addOperation { collected.add(runChunk(recipes)) } }
        queue.waitUntilAllOperationsAreFinished()
        let byRecipe = collected.results
        return recipes.map { byRecipe[$0.description] ?? SeedResult(seed: $0.seed, crashed: "no verdict came back") }
    }

    /// One child for these recipes; a crashed child's recipes one child each.
    func runChunk(_ recipes: [Recipe]) -> [String: SeedResult] {
        var arguments = ["explore-batch", "--scenario", scenario, "--recipes", recipes.map(\.description).joined(separator: ",")]
        if signature { arguments.append("--signature") }
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
