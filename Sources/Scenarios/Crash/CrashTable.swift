import Checks
import Core
import SQLiteStore
import Sim

/// `agentos crash-table`: every store operation crashed at every durable boundary the
/// simulated disk sees during it (just before, just after, with the write torn, and killed
/// with the page cache kept), then recovered through SQLite and the core's own recovery, and
/// judged: what became of the operation, and whether the checkers pass.
///
/// A survey run (no crash) records each operation's boundaries. For each operation kind the
/// table takes every instance with a boundary pattern not seen before in its kind (the first
/// applied write of each pattern), so no boundary sequence any operation went through is
/// skipped. Each point is then one run of the same scenario and seed, identical to the survey
/// up to the crash (the simulation is deterministic), with the store process taken down at
/// that point and restarted `restartDelay` later.
public struct CrashTableSettings: Sendable {
    public var scenario: Scenario
    public var seed: UInt64
    public var storeFile: StoreFileSettings
    /// The kinds of operation to crash in (all by default).
    public var operations: [StoreOperationKind]
    /// How long the crashed store stays down.
    public var restartDelay: Interval

    public init(
        scenario: Scenario = CrashTable.defaultScenario, seed: UInt64 = 1, storeFile: StoreFileSettings = .durable,
        operations: [StoreOperationKind] = StoreOperationKind.allCases, restartDelay: Interval = .seconds(2)
    ) {
        self.scenario = scenario
        self.seed = seed
        self.storeFile = storeFile
        self.operations = operations
        self.restartDelay = restartDelay
    }
}

/// One line of the table.
public struct CrashTableRow: Codable, Hashable, Sendable {
    public var point: CrashPoint
    /// Nil when the crash did not land where it was aimed (then `problem` says why).
    public var outcome: CrashOutcome?
    /// The checkers that failed on the run (empty: all passed).
    public var failedCheckers: [String]
    /// What was lost, or why the point could not be judged.
    public var problem: String?
    /// The run's trace hash, to replay it.
    public var hash: String

    /// Neither an acknowledged loss nor a failed checker nor an unjudged point.
    public var passed: Bool { outcome != nil && outcome != .lost && failedCheckers.isEmpty }
}

public enum CrashTable {
    /// Four tasks of two rounds through one region of two proxies, with per-round checkpoints
    /// (so round saves are operations too), an LLM whose answers are often garbage (so some
    /// task aborts: aborts are operations too), no drawn faults, and the store crashed once for
    /// a second at 20 s, so status reads are also served by a restarted store.
    public static var defaultScenario: Scenario {
        var scenario = Scenario(name: "crash-table")
        scenario.cluster = Scenario.cluster(regions: 1, proxiesPerRegion: 2, llmEndpoints: 2)
        scenario.cluster.checkpoints = .perRound
        scenario.llm.flakiness.garbage = Ratio(1, 2)
        scenario.workload = Workload(
            clients: 2, requestsPerClient: 2, pattern: .sendInInterval(min: .seconds(1), max: .seconds(4)),
            tasks: [TaskTemplate(rounds: 2, samples: 2, voters: 2)])
        scenario.faults = FaultSpec(
            fixed: [
                FaultEntry(at: .zero + .seconds(20), action: .crash(node: Address.store.name)),
                FaultEntry(at: .zero + .seconds(21), action: .restart(node: Address.store.name)),
            ])
        // Faults stop at the heal, so every operation must run before it: the safety phase
        // lasts until the clients are done.
        scenario.phases = Phases(safety: .seconds(900), liveness: .seconds(600), endWhenDone: true)
        return scenario
    }

    /// The survey run: every operation the store ran, with its boundaries.
    public static func survey(_ settings: CrashTableSettings) throws -> (operations: [SurveyedOperation], report: RunReport) {
        let (run, probe) = try build(settings, target: nil, extraFaults: [])
        let report = try run.execute()
        return (probe.surveyed, report)
    }

    /// The operations the table crashes in: per kind, each instance whose boundary pattern is
    /// new (applied writes first, so a pattern is shown on a write that changed something).
    ///
    /// Only operations a crash can follow: the fault timeline stops at the heal, so one whose
    /// restart would fall after it is left to `lateOperations`, which the report lists.
    public static func targets(_ surveyed: [SurveyedOperation], kinds: [StoreOperationKind], settings: CrashTableSettings) -> [SurveyedOperation] {
        var chosen: [SurveyedOperation] = []
        for kind in kinds.sorted() {
            let ofKind = surveyed.filter { $0.kind == kind && crashable($0, settings) }
            var patterns: Set<[String]> = []
            for operation in ofKind.filter(\.applied) + ofKind.filter({ !$0.applied }) where patterns.insert(operation.pattern).inserted {
                chosen.append(operation)
            }
        }
        return chosen.sorted { ($0.kind, $0.ordinal) < ($1.kind, $1.ordinal) }
    }

    /// Whether a store node's effects for one request say it changed the store, and the task a
    /// create made.
    public static func judgeEffects(_ effects: ArraySlice<CoreEffect>) -> (applied: Bool, created: TaskID?) { CrashProbe.judge(effects) }

    /// Whether the store can be crashed in `operation` and restarted before the heal.
    public static func crashable(_ operation: SurveyedOperation, _ settings: CrashTableSettings) -> Bool {
        operation.time + .nanoseconds(1) + settings.restartDelay < .zero + settings.scenario.phases.safety
    }

    /// Every crash point of one operation: each boundary in each variant that applies (a tear
    /// only of a write), then the power lost after its reply; an operation with no boundary is
    /// crashed as it arrives.
    public static func points(of operation: SurveyedOperation) -> [CrashPoint] {
        var points: [CrashPoint] = []
        for (offset, boundary) in operation.boundaries.enumerated() {
            for variant in CrashVariant.allCases where variant != .torn || boundary.kind == .write {
                points.append(CrashPoint(operation: operation.kind, ordinal: operation.ordinal, place: .boundary(index: offset + 1, boundary, variant)))
            }
        }
        if operation.boundaries.isEmpty { points.append(CrashPoint(operation: operation.kind, ordinal: operation.ordinal, place: .onReceipt)) }
        points.append(CrashPoint(operation: operation.kind, ordinal: operation.ordinal, place: .afterAcknowledgment))
        return points
    }

    /// Runs one point: the scenario with the crash, the restart, and the judgment.
    public static func run(_ point: CrashPoint, of operation: SurveyedOperation, settings: CrashTableSettings) throws -> CrashTableRow {
        let down = operation.time + .nanoseconds(1)
        let faults = [
            FaultEntry(at: down, action: .crash(node: Address.store.name)),
            FaultEntry(at: down + settings.restartDelay, action: .restart(node: Address.store.name)),
        ]
        let (run, probe) = try build(settings, target: point, extraFaults: faults)
        let report: RunReport
        do {
            report = try run.execute()
        } catch {
            // The store could not be read at the end. After a restart, SQLite opened a damaged
            // file (possible only with unsafe settings): whatever was acknowledged is gone.
            // Without one, the crash was never undone, which the table reports rather than hides.
            let restarted = probe.restartedAfterCrash
            return CrashTableRow(
                point: point, outcome: restarted ? .lost : nil, failedCheckers: [],
                problem: restarted ? "the recovered database is unreadable: \(error)" : "the run could not be judged: \(error)",
                hash: run.simulation.fingerprintHex)
        }
        var row = CrashTableRow(
            point: point, outcome: nil, failedCheckers: Array(Set(report.violations.map { $0.invariant.description })).sorted(), problem: nil,
            hash: report.hash)
        guard probe.landed, probe.crashedAt == operation.time else {
            row.problem = "the crash did not land: the run reached this operation at \(probe.crashedAt.map { "\($0)" } ?? "no time"), the survey at \(operation.time)"
            return row
        }
        if let damage = probe.recoveryError {
            row.outcome = .lost
            row.problem = "the recovered database is unreadable: \(damage)"
            return row
        }
        guard let before = probe.beforeCrash, let recovered = probe.recovered else {
            row.problem = "the store never came back after the crash"
            return row
        }
        let lostEarlier = regressions(from: before, to: recovered)
        let present = effectPresent(operation, in: recovered)
        if !lostEarlier.isEmpty {
            row.outcome = .lost
            row.problem = lostEarlier.prefix(3).joined(separator: "; ")
        } else if probe.acknowledged {
            row.outcome = present == false ? .lost : .keptAcknowledged
            if present == false { row.problem = "the acknowledged \(operation.kind.rawValue) is not in the recovered store" }
        } else if present == true {
            row.outcome = .keptUnacknowledged
        } else {
            row.outcome = probe.resent ? .reExecuted : .absent
        }
        return row
    }

    /// Builds a survey (no target) or crash run of the settings' scenario.
    static func build(_ settings: CrashTableSettings, target: CrashPoint?, extraFaults: [FaultEntry]) throws -> (ScenarioRun, CrashProbe) {
        var overrides = RoleOverrides.none
        overrides.storeFile = settings.storeFile
        let holder = ProbeHolder()
        overrides.store = { store in CrashProbeStoreMachine(store: store, probe: holder.probe!) }
        let faults = FaultPlanner.sortedStable(ScenarioRun.plannedFaults(scenario: settings.scenario, seed: settings.seed) + extraFaults)
        let run = try ScenarioRun(scenario: settings.scenario, seed: settings.seed, faults: faults, overrides: overrides)
        run.countsMarks = false
        let probe = CrashProbe(target: target, disk: run.disk)
        holder.probe = probe
        return (run, probe)
    }

    /// The store roles are made at boot, after the run is built: they reach the probe through this.
    final class ProbeHolder {
        var probe: CrashProbe?
    }

    /// What an acknowledged store had that the recovered one lacks: a task, an epoch, a final
    /// status, a saved node.
    public static func regressions(from before: StoreSnapshot, to after: StoreSnapshot) -> [String] {
        let kept = Dictionary(uniqueKeysWithValues: after.tasks.map { ($0.taskID, $0) })
        var lost: [String] = []
        for task in before.tasks {
            guard let now = kept[task.taskID] else {
                lost.append("task \(task.taskID) is gone")
                continue
            }
            if now.epoch < task.epoch { lost.append("task \(task.taskID) went back from epoch \(task.epoch) to \(now.epoch)") }
            if task.status.isFinished, now.status != task.status { lost.append("task \(task.taskID) went back from \(task.status) to \(now.status)") }
            let saved = Set((after.progress[task.taskID] ?? []).map(\.nodeID))
            for row in before.progress[task.taskID] ?? [] where !saved.contains(row.nodeID) {
                lost.append("task \(task.taskID) lost its saved \(row.nodeID)")
            }
        }
        return lost
    }

    /// Whether the operation's write is in `store` (nil for a read, which writes nothing, and
    /// for a write the survey saw rejected or repeated, which changed nothing to look for).
    public static func effectPresent(_ operation: SurveyedOperation, in store: StoreSnapshot) -> Bool? {
        guard operation.applied else { return nil }
        func task(_ id: TaskID) -> TaskRecord? { store.tasks.first { $0.taskID == id } }
        switch operation.request {
        case .createTask: return operation.createdTask.map { task($0) != nil }
        case .claim(let id, let epoch, _, _): return task(id).map { $0.epoch >= epoch } ?? false
        case .saveProgress(let id, let node, _, _, _): return (store.progress[id] ?? []).contains { $0.nodeID == node }
        case .finish(let id, _, _), .abort(let id, _, _): return task(id)?.status.isFinished ?? false
        default: return nil
        }
    }
}
