import Checks
import Foundation
import Scenarios

/// One seed's verdict, as a child process prints it (one JSON line): what `explore`,
/// `reproduce` and every other campaign gather.
public struct SeedResult: Codable, Sendable {
    public var seed: UInt64
    public var passed: Bool
    public var invariants: [Int]
    public var firstViolation: String?
    public var hash: String
    public var events: UInt64
    public var tasks: Int
    public var completed: Int
    /// Set by the parent when the seed's process died.
    public var crashed: String?
    /// Every checker's verdict and evidence (nil for a crashed seed).
    public var checks: [CheckVerdict]? = nil
    /// Client-observed task latency, virtual seconds (nil when no task finished).
    public var latency: LatencySummary? = nil
    /// The marks the run reached, by name, with their hits (nil for a crashed seed).
    public var marks: [String: Int]? = nil
    /// When each was first hit, virtual nanoseconds (a guided search's branch points).
    public var firstHits: [String: Int64]? = nil
    /// The guided run's recipe (`Recipe`); nil for a plain seed.
    public var recipe: String? = nil
    /// The run's state-signature features (guided runs only).
    public var signature: [Int]? = nil
    /// The scenario, when one child ran several (`explore-batch --runs`).
    public var scenario: String? = nil
    /// The CPU time the run took in its child, seconds (`bench find` only: it varies run to run).
    public var cpuSeconds: Double? = nil

    /// The verdict of a run that finished.
    public init(seed: UInt64, report: RunReport) {
        self.seed = seed
        passed = report.passed
        invariants = Array(Set(report.violations.map(\.invariant.rawValue))).sorted()
        firstViolation = report.violations.first.map { "\($0.invariant): \($0.detail)" }
        hash = report.hash
        events = report.events
        tasks = report.tasks
        completed = report.completed
        crashed = nil
        checks = report.checks
        latency = LatencySummary(report)
        marks = report.marks
        firstHits = report.markFirstHits
        signature = report.signature
    }

    /// A seed whose process died before it printed a verdict.
    public init(seed: UInt64, crashed reason: String) {
        self.seed = seed
        passed = false
        invariants = []
        firstViolation = "crashed: \(reason)"
        hash = ""
        events = 0
        tasks = 0
        completed = 0
        crashed = reason
    }
}

/// Client-observed task latency over every task of one run, in virtual seconds.
public struct LatencySummary: Codable, Sendable {
    public var count: Int
    public var mean: Double
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double

    public init?(_ report: RunReport) {
        guard let mean = report.latencyMean, let p50 = report.latencyP50, let p90 = report.latencyP90, let p99 = report.latencyP99,
            let max = report.latencyMax
        else { return nil }
        count = report.completed + report.aborted
        (self.mean, self.p50, self.p90, self.p99, self.max) = (Double(mean) / 1e9, Double(p50) / 1e9, Double(p90) / 1e9, Double(p99) / 1e9, Double(max) / 1e9)
    }
}

/// Runs seeds of a scenario in this process, one JSON line each on standard output: the
/// child side of every campaign (`agentos explore-batch`).
public enum SeedBatch {
    public static func run(
        scenario: String, seeds: [UInt64], crashSeed: UInt64?, overrides: RoleOverrides = .none, measuresCPU: Bool = false,
        resolve: (String, UInt64) throws -> Scenario
    ) throws {
        for seed in seeds {
            if seed == crashSeed { fatalError("injected crash at seed \(seed), to test the sweep's isolation") }
            let resolved = try resolve(scenario, seed)
            try emit(measuresCPU: measuresCPU) {
                SeedResult(seed: seed, report: try ScenarioRun(scenario: resolved, seed: seed, overrides: overrides).execute())
            }
        }
    }

    /// Runs a guided search's recipes, one JSON line each, each carrying its recipe (and its
    /// state signature when `signature`).
    public static func run(
        scenario: String, recipes: [Recipe], signature: Bool, overrides: RoleOverrides = .none, measuresCPU: Bool = false,
        resolve: (String, UInt64) throws -> Scenario
    ) throws {
        for recipe in recipes {
            let resolved = try resolve(scenario, recipe.seed)
            try emit(measuresCPU: measuresCPU) {
                let run = try ScenarioRun(scenario: resolved, seed: recipe.seed, faults: recipe.faults(for: resolved), overrides: overrides)
                run.countsSignature = signature
                var result = SeedResult(seed: recipe.seed, report: try run.execute())
                result.recipe = recipe.description
                return result
            }
        }
    }

    /// Runs one seed of one scenario and prints its line; whether it passed.
    public static func runOne(
        scenario: String, seed: UInt64, overrides: RoleOverrides, measuresCPU: Bool, resolve: (String, UInt64) throws -> Scenario
    ) throws -> Bool {
        let resolved = try resolve(scenario, seed)
        var passed = true
        try emit(measuresCPU: measuresCPU) {
            var result = SeedResult(seed: seed, report: try ScenarioRun(scenario: resolved, seed: seed, overrides: overrides).execute())
            result.scenario = scenario
            passed = result.passed
            return result
        }
        return passed
    }

    /// Prints the result `body` makes as one JSON line, with the CPU time it took when asked.
    static func emit(measuresCPU: Bool, _ body: () throws -> SeedResult) throws {
        let before = threadCPUSeconds()
        var result = try body()
        if measuresCPU { result.cpuSeconds = threadCPUSeconds() - before }
        FileHandle.standardOutput.write(try JSONEncoder().encode(result) + Data("\n".utf8))
    }
}

/// CPU time this thread has used, seconds: what one run costs, without the child's start-up.
public func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// One run of a named scenario, `SCENARIO@SEED` as `explore-batch --runs` takes it.
public struct ScenarioSeed: Hashable, Codable, Sendable, CustomStringConvertible {
    public var scenario: String
    public var seed: UInt64

    public init(scenario: String, seed: UInt64) {
        self.scenario = scenario
        self.seed = seed
    }

    public var description: String { "\(scenario)@\(seed)" }

    public static func parseList(_ text: String) throws -> [ScenarioSeed] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: "@")
            guard parts.count == 2, let seed = UInt64(parts[1]) else { throw CampaignError("not SCENARIO@SEED: \(item)") }
            return ScenarioSeed(scenario: String(parts[0]), seed: seed)
        }
    }
}
