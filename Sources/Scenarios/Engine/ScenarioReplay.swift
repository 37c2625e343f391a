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

/// Minimises a failing run while the same invariant still fails: fewer faults, fewer requests
/// and clients, fewer and smaller tasks and graphs, a shorter safety window and a shorter
/// liveness budget (a stuck task is as stuck after 10 s as after 10 minutes, and the budget's
/// heartbeats were most of a liveness failure's trace).
public enum ScenarioShrinker {
    public struct Result: Sendable {
        public var scenario: Scenario
        public var faults: [FaultEntry]
        public var report: RunReport
        public var runs: Int
        public var steps: [String]
    }

    public static func shrink(
        scenario: Scenario, seed: UInt64, faults: [FaultEntry], invariant: Invariant, budget: Int = 400,
        overrides: RoleOverrides = .none, progress: (String) -> Void = { _ in }
    ) throws -> Result {
        var best = (scenario: scenario, faults: faults)
        var runs = 0
        var steps: [String] = []
        func fails(_ candidate: Scenario, _ candidateFaults: [FaultEntry]) -> RunReport? {
            guard runs < budget, candidate.problem() == nil else { return nil }
            runs += 1
            guard let report = try? ScenarioRun(scenario: candidate, seed: seed, faults: candidateFaults, overrides: overrides).execute()
            else { return nil }
            return report.violations.contains { $0.invariant == invariant } ? report : nil
        }
        guard var lastReport = fails(best.scenario, best.faults) else {
            throw ScenarioError.invalid("the run does not fail \(invariant) on today's code; nothing to shrink")
        }
        func accept(_ candidate: (Scenario, [FaultEntry]), _ step: String) -> Bool {
            guard let report = fails(candidate.0, candidate.1) else { return false }
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
            // The liveness budget: halve it while the same invariant still fails.
            while best.scenario.phases.liveness > .seconds(10) {
                var shorter = best.scenario
                shorter.phases.liveness = max(.seconds(10), best.scenario.phases.liveness / 2)
                guard accept((shorter, best.faults), "liveness budget -> \(shorter.phases.liveness)") else { break }
                changed = true
            }
        }
        return Result(scenario: best.scenario, faults: best.faults, report: lastReport, runs: runs, steps: steps)
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
