import Foundation
import Mutation
import Scenarios

/// The runs every mutant faces, in the order it faces them: seed 1 of every named scenario,
/// then seed 2 of each, ..., then the swarm seeds. A mutant is killed by its first failing
/// run, so the cheap, varied runs come first.
public struct MutationBudget: Codable, Sendable, Equatable {
    public var scenarios: [String]
    public var seedsPerScenario: Int
    public var swarmSeeds: Int

    public init(scenarios: [String] = ScenarioLibrary.names.filter { $0 != "swarm" }, seedsPerScenario: Int = 2, swarmSeeds: Int = 20) {
        self.scenarios = scenarios
        self.seedsPerScenario = seedsPerScenario
        self.swarmSeeds = swarmSeeds
    }

    public var runs: [ScenarioSeed] {
        var runs: [ScenarioSeed] = []
        for seed in 0..<UInt64(max(seedsPerScenario, 0)) {
            for scenario in scenarios { runs.append(ScenarioSeed(scenario: scenario, seed: seed + 1)) }
        }
        for seed in 0..<UInt64(max(swarmSeeds, 0)) { runs.append(ScenarioSeed(scenario: "swarm", seed: seed + 1)) }
        return runs
    }
}

/// How one child process running a list of runs ended.
public struct ChildOutcome: Sendable {
    public var results: [SeedResult]
    /// Nil when the child exited normally; otherwise how it died (a signal, or killed by the
    /// harness after `timeout` without a verdict).
    public var death: String?
    public var timedOut: Bool
}

/// Runs `executable explore-batch --runs ...` with `environment` added, reading one verdict
/// per line; kills the child when no verdict came for `timeout` seconds (a mutant that loops).
public func runBatchChild(
    executable: String, runs: [ScenarioSeed], stopAtFailure: Bool, environment: [String: String], timeout: Double
) -> ChildOutcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = ["explore-batch", "--cpu", "--runs", runs.map(\.description).joined(separator: ",")] + (stopAtFailure ? ["--stop-at-failure"] : [])
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    let reader = LineReader()
    out.fileHandleForReading.readabilityHandler = { handle in reader.append(handle.availableData) }
    do { try process.run() } catch {
        return ChildOutcome(results: [], death: "could not start \(executable): \(error)", timedOut: false)
    }
    var timedOut = false
    while process.isRunning {
        Thread.sleep(forTimeInterval: 0.02)
        if reader.secondsSinceLastLine() > timeout {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
            break
        }
    }
    process.waitUntilExit()
    out.fileHandleForReading.readabilityHandler = nil
    // After a kill, whatever the child left behind may still hold the pipe: take what came.
    if !timedOut { reader.append(out.fileHandleForReading.readDataToEndOfFile()) }
    let results = seedResults(in: reader.text)
    var death: String?
    if timedOut {
        death = "no verdict for \(Int(timeout)) s: killed"
    } else if process.terminationReason == .uncaughtSignal {
        death = "killed by signal \(process.terminationStatus)"
    } else if process.terminationStatus != 0 {
        death = "exited with status \(process.terminationStatus)"
    }
    return ChildOutcome(results: results, death: death, timedOut: timedOut)
}

/// Collects a child's output as it arrives, and when its last full line came.
final class LineReader: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private var lastLine = ContinuousClock.now

    func append(_ chunk: Data) {
        guard !chunk.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        data.append(chunk)
        if chunk.contains(UInt8(ascii: "\n")) { lastLine = .now }
    }

    func secondsSinceLastLine() -> Double {
        lock.lock()
        defer { lock.unlock() }
        let elapsed = ContinuousClock.now - lastLine
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Runs every mutant against the budget, `jobs` at a time, each in a child process of the
/// schemata binary with `AGENTOS_MUTANT` set.
public struct MutationCampaign: Sendable {
    public var schemataBinary: String
    public var budget: MutationBudget
    public var jobs: Int
    /// Seconds a run may take without a verdict before its mutant counts as hanging.
    public var runTimeout: Double
    public var progress: Bool

    public init(schemataBinary: String, budget: MutationBudget, jobs: Int, runTimeout: Double = 60, progress: Bool = isatty(2) != 0) {
        self.schemataBinary = schemataBinary
        self.budget = budget
        self.jobs = jobs
        self.runTimeout = runTimeout
        self.progress = progress
    }

    /// The switches the budget's runs reach with no mutant on: a mutant whose switch no run
    /// reads cannot be killed by the budget, so it is reported without being run.
    public func reachedSwitches(in directory: URL) throws -> Set<Int> {
        let plan = budget.runs
        let chunks = max(1, min(jobs, plan.count))
        let files = (0..<chunks).map { directory.appendingPathComponent("coverage-\($0).txt") }
        for file in files { try? FileManager.default.removeItem(at: file) }
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let runs = plan.enumerated().filter { $0.offset % chunks == chunk }.map(\.element)
            let outcome = runBatchChild(
                executable: schemataBinary, runs: runs, stopAtFailure: false,
                environment: [SchemataGenerator.environmentVariable: "", SchemataGenerator.coverageVariable: files[chunk].path], timeout: runTimeout)
            if outcome.death != nil || outcome.results.count != runs.count {
                failures.withLock { $0.append("coverage child \(chunk): \(outcome.death ?? "missing verdicts")") }
            }
        }
        if let failure = failures.withLock({ $0.first }) { throw CampaignError("the coverage pass failed: \(failure)") }
        var reached: Set<Int> = []
        for file in files {
            let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") { if let id = Int(line) { reached.insert(id) } }
            try? FileManager.default.removeItem(at: file)
        }
        return reached
    }

    /// One mutant's verdict.
    public func run(_ mutant: Mutant) -> MutantResult {
        let plan = budget.runs
        let outcome = runBatchChild(
            executable: schemataBinary, runs: plan, stopAtFailure: true,
            environment: [SchemataGenerator.environmentVariable: String(mutant.id)], timeout: runTimeout)
        return MutantResult(mutant: mutant, plan: plan, outcome: outcome)
    }

    /// Every mutant's verdict, in id order; those whose switch is not in `reached` are not run.
    public func run(_ mutants: [Mutant], reached: Set<Int>? = nil) -> [MutantResult] {
        let results = ResultBox(bar: ProgressBar(total: mutants.count, label: "mutants", enabled: progress))
        var toRun = mutants
        if let reached {
            toRun = mutants.filter { reached.contains($0.id) }
            for mutant in mutants where !reached.contains(mutant.id) { results.add(.notReached(mutant)) }
        }
        let queue = Locked(ArraySlice(toRun))
        DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, toRun.count))) { _ in
            while let mutant = queue.withLock({ $0.popFirst() }) {
                var result = run(mutant)
                if reached != nil { result.reached = true }
                results.add(result)
            }
        }
        return results.finish()
    }
}

/// A value the worker threads share, behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

/// The verdicts as they come in, with the progress bar and its running tallies.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [MutantResult] = []
    private var kills = 0
    private var unreached = 0
    private var bar: ProgressBar

    init(bar: ProgressBar) { self.bar = bar }

    func add(_ result: MutantResult) {
        lock.lock()
        defer { lock.unlock() }
        results.append(result)
        if result.status.isKill { kills += 1 }
        if result.status == .notCovered { unreached += 1 }
        let note = "\(kills) killed, \(results.count - kills - unreached) survived, \(unreached) never reached"
        bar.update(results.count, note: note)
        // Where no bar is drawn (a log), a line every 5 % of the mutants.
        if !bar.enabled, results.count % max(1, bar.total / 20) == 0 || results.count == bar.total {
            FileHandle.standardError.write(Data("mutate: \(results.count) of \(bar.total) mutants done: \(note)\n".utf8))
        }
    }

    func finish() -> [MutantResult] {
        lock.lock()
        defer { lock.unlock() }
        bar.finish()
        return results.sorted { $0.id < $1.id }
    }
}
