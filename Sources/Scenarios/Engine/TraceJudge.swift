import Checks
import Core
import Determinism
import Foundation
import Sim

/// What a scenario trace's end line carries besides the footer: the store's final rows (the
/// final audit reads them) and how the run ended, which its events alone do not say.
public struct RecordedEnd: Codable, Sendable {
    public var tasks: [TaskRecord]
    public var progress: [ProgressRecord]
    /// Whether every client saw its tasks through by the end of the liveness phase.
    public var converged: Bool
    /// Whether the run was cut at the first violation of `phases.stopAt` (no liveness phase).
    public var cut: Bool

    public init(_ snapshot: StoreSnapshot, converged: Bool, cut: Bool) {
        tasks = snapshot.tasks
        progress = snapshot.tasks.flatMap { snapshot.progress[$0.taskID] ?? [] }
        self.converged = converged
        self.cut = cut
    }

    /// The store's rows as the final audit reads them: an entry for every task.
    public var snapshot: StoreSnapshot {
        var rows: [TaskID: [ProgressRecord]] = Dictionary(uniqueKeysWithValues: tasks.map { ($0.taskID, []) })
        for row in progress where rows[row.taskID] != nil { rows[row.taskID]!.append(row) }
        return StoreSnapshot(tasks: tasks, progress: rows)
    }
}

extension RunObserver {
    /// The verdict of a run that ended at `end`: the final audit of the store's rows, and the
    /// run's figures. A run judges itself with it, and `TraceJudge` judges a recorded one.
    func verdict(
        scenario: String, seed: UInt64, snapshot: StoreSnapshot, end: Instant, converged: Bool, cut: Bool, events: UInt64, steps: UInt64,
        hash: String
    ) -> RunReport {
        checkers.audit(snapshot, end: end, includeLiveness: !cut)
        let tasks = snapshot.tasks
        var violations = checkers.violations
        var checks = checkers.verdicts
        if !converged, violations.isEmpty, !cut {
            // Convergence is part of the verdict; every way of missing it should have been named
            // by a checker, but the verdict never depends on that.
            let missed = Violation(
                invariant: .liveness, task: nil, node: nil, time: end,
                detail: "the liveness phase ended without converging (clients had not all seen their tasks through)", events: [])
            violations.append(missed)
            if let index = checks.firstIndex(where: { $0.invariant == Invariant.liveness.rawValue }) {
                checks[index].passed = false
                checks[index].violations += 1
            }
        }
        var report = RunReport(
            scenario: scenario, seed: String(seed), passed: violations.isEmpty, violations: violations, checks: checks,
            tasks: acknowledged.count, completed: tasks.filter { $0.status == .completed }.count,
            aborted: tasks.filter { $0.status == .aborted }.count, unfinished: tasks.filter { !$0.status.isFinished }.count,
            rejected: rejected, latencyP50: percentile(50), latencyP99: percentile(99), llmCalls: llmCalls, wastedCalls: wastedCalls,
            faultsInjected: faultsInjected, events: events, steps: steps, virtualEnd: end.nanoseconds, livenessConverged: converged,
            latencyMean: mean, latencyP90: percentile(90), latencyMax: latencies.max(), hash: hash, marks: marks.byName, markFirstHits: marks.firstHitsByName)
        report.signature = signature?.features
        return report
    }
}

/// Judges a recorded scenario trace from the file alone: its events, in order, go through the
/// same observer and checkers a live run feeds, and its end line's store rows through the same
/// final audit. No code of the system under test runs, so a trace written by another build
/// (or by hand) is judged as it happened, not as today's code would behave.
public enum TraceJudge {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case notAScenarioTrace(world: String)
        case noEndSnapshot
        case malformed(line: Int, reason: String)

        public var description: String {
            switch self {
            case .notAScenarioTrace(let world): "a trace of world '\(world)', not of a scenario run (agentos run/explore/shrink write those)"
            case .noEndSnapshot:
                "the trace's end line has no store snapshot (it was written before traces carried one): `agentos replay` re-runs it on today's code instead"
            case .malformed(let line, let reason): "line \(line): \(reason)"
            }
        }
    }

    public static func judge(_ recorded: RecordedTrace) throws -> RunReport {
        guard recorded.world == scenarioWorldName else { throw Failure.notAScenarioTrace(world: recorded.world) }
        let (scenario, seed, faults) = try ScenarioReplay.inputs(recorded)
        guard let end = try recorded.snapshot(as: RecordedEnd.self) else { throw Failure.noEndSnapshot }
        let clients = scenario.clientAddresses
        let directory = Directory(names: scenario.nodeNames)
        let observer = RunObserver(directory: directory, context: ScenarioRun.checkContext(scenario: scenario, clients: clients, faults: faults), cluster: scenario.cluster)
        let decoder = JSONDecoder()
        for (offset, text) in recorded.eventLines.enumerated() {
            let line: EventLine<CoreWorld>
            do {
                line = try decoder.decode(EventLine<CoreWorld>.self, from: Data(text.utf8))
            } catch {
                throw Failure.malformed(line: offset + 2, reason: oneLine(error))
            }
            guard let event = try event(line, directory: directory) else { continue }
            observer.observe(TraceEntry(index: line.i, time: line.t, event: event))
        }
        return observer.verdict(
            scenario: scenario.name, seed: seed, snapshot: end.snapshot, end: recorded.footer.time, converged: end.converged, cut: end.cut,
            events: recorded.footer.events, steps: recorded.footer.steps, hash: recorded.footer.hash)
    }

    /// The kernel event a line records, with its nodes resolved against the run's directory.
    static func event(_ line: EventLine<CoreWorld>, directory: Directory) throws -> TraceEvent<CoreWorld>? {
        func node(_ name: String?, _ field: String) throws -> NodeID {
            guard let name, let id = directory.idIfKnown(name) else {
                throw Failure.malformed(line: Int(line.i) + 2, reason: "'\(field)' names no node of the run: \(name ?? "missing")")
            }
            return id
        }
        func value<T>(_ value: T?, _ field: String) throws -> T {
            guard let value else { throw Failure.malformed(line: Int(line.i) + 2, reason: "a '\(line.k)' event without '\(field)'") }
            return value
        }
        switch line.k {
        case "send": return .send(id: try value(line.id, "id"), from: try node(line.from, "from"), to: try node(line.to, "to"), try value(line.msg, "msg"))
        case "deliver": return .deliver(id: try value(line.id, "id"), from: try node(line.from, "from"), to: try node(line.to, "to"))
        case "drop":
            let reason = try value(line.reason.flatMap(DropReason.init(rawValue:)), "reason")
            return .drop(id: try value(line.id, "id"), from: try node(line.from, "from"), to: try node(line.to, "to"), reason)
        case "duplicate": return .duplicate(id: try value(line.id, "id"), copy: try value(line.copy, "copy"))
        // Timers and holds tell the checkers nothing, but the marks count them.
        case "hold":
            let reason = try value(line.reason.flatMap(HoldReason.init(rawValue:)), "reason")
            return .hold(id: try value(line.id, "id"), to: try node(line.to, "to"), reason)
        case "timer": return .timer(node: try node(line.node, "node"), try value(line.timer, "timer"))
        case "start": return .start(node: try node(line.node, "node"), incarnation: try value(line.inc, "inc"))
        case "fault": return .fault(try value(line.fault, "fault"))
        case "observe": return .observe(node: try node(line.node, "node"), try value(line.obs, "obs"))
        default: return nil
        }
    }
}
