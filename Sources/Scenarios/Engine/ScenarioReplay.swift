import Checks
import Core
import Sim

/// Reading scenario traces back: the exact replay (same code, event by event) and the re-run
/// (today's code on the recorded scenario, seed and fault timeline, invariants checked), which
/// is how `traces/` works as a regression corpus.
public enum ScenarioReplay {
    /// The recorded inputs of a scenario trace.
    public static func inputs(_ recorded: RecordedTrace) throws -> (scenario: Scenario, seed: UInt64, faults: [FaultEntry]) {
        guard recorded.world == scenarioWorldName else {
            throw TraceFileError.worldMismatch(found: recorded.world, expected: scenarioWorldName)
        }
        let header = try recorded.header(as: Scenario.self)
        if let problem = header.config.problem() { throw TraceFileError.configDoesNotParse(reason: problem) }
        return (header.config, header.seedValue!, header.faults)
    }

    public static func exact(_ recorded: RecordedTrace) throws -> ReplayReport {
        let (scenario, seed, faults) = try inputs(recorded)
        let run = try ScenarioRun(scenario: scenario, seed: seed, faults: faults)
        return TraceReplay.compare(recorded, simulation: run.simulation) { _ in run.drive() }
    }

    public static func rerun(_ recorded: RecordedTrace, tracePath: String? = nil) throws -> RunReport {
        let (scenario, seed, faults) = try inputs(recorded)
        let run = try ScenarioRun(scenario: scenario, seed: seed, faults: faults)
        if let tracePath { try run.record(to: tracePath) }
        return try run.execute()
    }
}

/// Minimises a failing run while the same failure still happens: fewer faults, fewer requests
/// and clients, fewer and smaller tasks and graphs, a shorter safety window and a shorter
/// liveness budget, but never one shorter than the scenario's tasks need on the correct code
/// (`Scenario.livenessRequired`). A reduction is kept only if it fails the same invariant with
/// the same kind of evidence (`Violation.evidenceClass`), and, given a baseline, only if the
/// baseline (the correct build) passes it: differential shrinking, so the shrunk trace is the
/// bug's and not one any code fails.
public enum ScenarioShrinker {
    /// Whether a candidate run also fails on the baseline build (true: reject it).
    public typealias Baseline = (_ scenario: Scenario, _ seed: UInt64, _ faults: [FaultEntry]) throws -> Bool

    public struct Result: Sendable {
        public var scenario: Scenario
        public var faults: [FaultEntry]
        public var report: RunReport
        public var runs: Int
        public var steps: [String]
        /// The faults the failure still needs: without any one of them the run passes, or
        /// fails otherwise (checked one by one after the shrink, budget allowing).
        public var neededFaults: [FaultEntry] = []
        /// Faults left that the budget ran out before checking.
        public var uncheckedFaults: [FaultEntry] = []
        /// The liveness budget the shrink never went below.
        public var livenessFloor: Interval = .zero
        /// Candidates that failed here but also on the baseline, and were rejected for it.
        public var baselineRejections = 0
        /// The kinds of evidence the original failure showed, which every kept reduction showed too.
        public var evidence: [String] = []

        public init(scenario: Scenario, faults: [FaultEntry], report: RunReport, runs: Int, steps: [String]) {
            self.scenario = scenario
            self.faults = faults
            self.report = report
            self.runs = runs
            self.steps = steps
        }
    }

    public static func shrink(
        scenario: Scenario, seed: UInt64, faults: [FaultEntry], invariant: Invariant, budget: Int = 400,
        overrides: RoleOverrides = .none, baseline: Baseline? = nil, progress: (String) -> Void = { _ in }
    ) throws -> Result {
        var best = (scenario: scenario, faults: faults)
        // A latency band is calibrated on the scenario as it stands: once the shrinker takes
        // faults, requests or rounds away, tasks finish sooner and the band's floor fails the
        // correct code. It stays only when latency is what is being shrunk.
        if invariant != .latency { best.scenario.budgets?.latency = nil }
        var runs = 0
        var steps: [String] = []
        var baselineRejections = 0
        var evidence: Set<String> = []
        var baselineError: Error?
        func run(_ candidate: Scenario, _ candidateFaults: [FaultEntry]) -> RunReport? {
            guard runs < budget, candidate.problem() == nil else { return nil }
            runs += 1
            // A candidate is judged by its violations alone: nobody reads its marks.
            guard let candidateRun = try? ScenarioRun(scenario: candidate, seed: seed, faults: candidateFaults, overrides: overrides) else { return nil }
            candidateRun.countsMarks = false
            return try? candidateRun.execute()
        }
        func sameFailure(_ report: RunReport) -> Bool {
            report.violations.contains { $0.invariant == invariant && evidence.contains($0.evidenceClass) }
        }
        func failsOnBaseline(_ candidate: Scenario, _ candidateFaults: [FaultEntry]) -> Bool {
            guard let baseline else { return false }
            do { return try baseline(candidate, seed, candidateFaults) } catch {
                baselineError = error
                return true
            }
        }
        guard var lastReport = run(best.scenario, best.faults), lastReport.violations.contains(where: { $0.invariant == invariant }) else {
            throw ScenarioError.invalid("the run does not fail \(invariant) on today's code; nothing to shrink")
        }
        evidence = Set(lastReport.violations.filter { $0.invariant == invariant }.map(\.evidenceClass))
        if failsOnBaseline(best.scenario, best.faults) {
            if let baselineError { throw baselineError }
            throw ScenarioError.invalid("the run fails on the baseline build too: the failure is not this build's")
        }
        let floor = min(scenario.phases.liveness, scenario.livenessRequired)
        func accept(_ candidate: (Scenario, [FaultEntry]), _ step: String) -> Bool {
            guard let report = run(candidate.0, candidate.1), sameFailure(report) else { return false }
            if failsOnBaseline(candidate.0, candidate.1) {
                baselineRejections += 1
                return false
            }
            best = candidate
            lastReport = report
            steps.append(step)
            progress(step)
            return true
        }
        var changed = true
        while changed && runs < budget {
            changed = false
            // Faults: drop chunks, from halves down to single entries.
            var chunk = max(1, best.faults.count / 2)
            while chunk >= 1, !best.faults.isEmpty {
                var start = 0
                while start < best.faults.count {
                    var fewer = best.faults
                    fewer.removeSubrange(start..<min(start + chunk, fewer.count))
                    if accept((best.scenario, fewer), "faults: \(best.faults.count) -> \(fewer.count)") { changed = true } else { start += chunk }
                }
                chunk /= 2
            }
            // Workload: clients, requests, templates, graph nodes, rounds, samples, voters.
            var smaller = best.scenario
            if smaller.workload.clients > 1 {
                smaller.workload.clients = 1
                if accept((smaller, best.faults), "clients -> 1") { changed = true }
            }
            // Requests: halve while it still fails, then step down one at a time (a failure often
            // needs a request in flight at one particular moment).
            for halving in [true, false] {
                while best.scenario.workload.requestsPerClient > 1 {
                    var fewer = best.scenario
                    let count = best.scenario.workload.requestsPerClient
                    fewer.workload.requestsPerClient = halving ? count / 2 : count - 1
                    guard accept((fewer, best.faults), "requests per client -> \(fewer.workload.requestsPerClient)") else { break }
                    changed = true
                }
            }
            for index in best.scenario.workload.tasks.indices.reversed() where best.scenario.workload.tasks.count > 1 {
                var fewer = best.scenario
                fewer.workload.tasks.remove(at: index)
                if accept((fewer, best.faults), "task templates -> \(fewer.workload.tasks.count)") { changed = true }
            }
            for index in best.scenario.workload.tasks.indices {
                for shrink in [shrinkGraph, shrinkRounds, shrinkSamples, shrinkVoters] {
                    var simpler = best.scenario
                    guard let step = shrink(&simpler.workload.tasks[index]) else { continue }
                    if accept((simpler, best.faults), "task \(index): \(step)") { changed = true }
                }
            }
            // The safety window: halve it, dropping the faults after its end.
            if best.scenario.phases.safety > .seconds(10) {
                var shorter = best.scenario
                shorter.phases.safety = best.scenario.phases.safety / 2
                let kept = best.faults.filter { $0.at < .zero + shorter.phases.safety }
                if accept((shorter, kept), "safety phase -> \(shorter.phases.safety)") { changed = true }
            }
            // The liveness budget: halve it while the same failure still happens, down to what
            // the original scenario's tasks need (the workload only shrank since, so no less).
            while best.scenario.phases.liveness > floor {
                var shorter = best.scenario
                shorter.phases.liveness = max(floor, best.scenario.phases.liveness / 2)
                guard accept((shorter, best.faults), "liveness budget -> \(shorter.phases.liveness)") else { break }
                changed = true
            }
        }
        if let baselineError { throw baselineError }
        var result = Result(scenario: best.scenario, faults: best.faults, report: lastReport, runs: runs, steps: steps)
        result.livenessFloor = floor
        result.baselineRejections = baselineRejections
        result.evidence = evidence.sorted()
        // Which faults the failure still needs: drop each alone.
        for (index, fault) in best.faults.enumerated() {
            guard runs < budget else {
                result.uncheckedFaults.append(fault)
                continue
            }
            var without = best.faults
            without.remove(at: index)
            guard let report = run(best.scenario, without) else {
                result.uncheckedFaults.append(fault)
                continue
            }
            // Still failing without it: a reduction the baseline refused, or the budget stopped the loop.
            if !sameFailure(report) { result.neededFaults.append(fault) }
        }
        result.runs = runs
        return result
    }

    /// The shrunk run, ready to record: cut at the first violation when the invariant is one
    /// the checkers see while the run goes on.
    public static func finalRun(_ result: Result, seed: UInt64, invariant: Invariant, overrides: RoleOverrides = .none) throws -> ScenarioRun {
        var scenario = result.scenario
        if !invariant.needsLiveness { scenario.phases.stopAt = invariant }
        return try ScenarioRun(scenario: scenario, seed: seed, faults: result.faults, overrides: overrides)
    }

    static func shrinkGraph(_ template: inout TaskTemplate) -> String? {
        guard let graph = template.graph, graph.nodes.count > 1, let sink = graph.sinks.last else { return nil }
        template.graph = TaskGraph(nodes: graph.nodes.filter { $0.id != sink })
        return "graph without node '\(sink)'"
    }

    static func shrinkRounds(_ template: inout TaskTemplate) -> String? {
        guard template.rounds > 1 else { return nil }
        template.rounds -= 1
        return "rounds -> \(template.rounds)"
    }

    static func shrinkSamples(_ template: inout TaskTemplate) -> String? {
        guard template.samples > 1 else { return nil }
        template.samples -= 1
        return "samples -> \(template.samples)"
    }

    static func shrinkVoters(_ template: inout TaskTemplate) -> String? {
        guard template.voters > 1 else { return nil }
        template.voters -= 1
        return "voters -> \(template.voters)"
    }
}
