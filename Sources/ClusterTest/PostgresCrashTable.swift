// The crash table of the PostgreSQL store, on a real server: every store operation, killed at
// every statement boundary (`pg_ctl stop -m immediate` just before a statement is sent, and
// just after its answer came back), then the server restarted (it replays its WAL), and the
// rows judged against what had been acknowledged. The same operations and outcomes as the
// simulator's table (`Scenarios/Crash`), driven through the shipped `StoreNode` on a
// `PostgresTaskStore`; each point starts from an empty store and replays the operations before
// its target, so no point depends on another.
//
// The server must be one the table may kill: its data directory is given, and the table stops
// it with `pg_ctl stop -m immediate` and starts it again with `pg_ctl restart` (which reuses the
// options of its last start). As root, both run as the data directory's owner.
import Campaigns
import Checks
import Core
import Foundation
import Logging
import PostgresStore
import Scenarios
import Determinism

public struct PostgresCrashTableOptions: Sendable {
    public var url: String
    /// The server's data directory (what `pg_ctl -D` takes).
    public var dataDirectory: String
    public var operations: [StoreOperationKind]
    public var showsProgress: Bool

    public init(url: String, dataDirectory: String, operations: [StoreOperationKind] = StoreOperationKind.allCases, showsProgress: Bool = isatty(2) != 0) {
        self.url = url
        self.dataDirectory = dataDirectory
        self.operations = operations
        self.showsProgress = showsProgress
    }
}

/// One line of the PostgreSQL table: `boundary` is the statement (its first words).
public struct PostgresCrashRow: Codable, Hashable, Sendable {
    public var operation: StoreOperationKind
    public var boundary: String
    public var variant: String
    public var outcome: CrashOutcome?
    public var problem: String?

    public var passed: Bool { outcome != nil && outcome != .lost }
}

public struct PostgresCrashTableReport: Codable, Sendable {
    public var url: String
    public var rows: [PostgresCrashRow]
    public var passed: Bool { !rows.isEmpty && rows.allSatisfy(\.passed) }

    public func lines() -> [String] {
        func pad(_ text: String, _ count: Int) -> String { text.padding(toLength: max(count, text.count), withPad: " ", startingAt: 0) }
        let width = max(22, rows.map(\.boundary.count).max() ?? 0)
        var lines = ["crash-table (PostgreSQL at \(url)): \(rows.count) crash points, the server killed with pg_ctl stop -m immediate"]
        lines.append(pad("operation", 22) + "  " + pad("statement", width) + "  " + pad("kill", 16) + "  outcome")
        for row in rows {
            var line = pad(row.operation.rawValue, 22) + "  " + pad(row.boundary, width) + "  " + pad(row.variant, 16) + "  "
            line += row.outcome?.rawValue ?? "NOT JUDGED"
            if let problem = row.problem { line += "  (\(problem))" }
            lines.append(line)
        }
        let lost = rows.filter { $0.outcome == .lost }.count
        let unjudged = rows.filter { $0.outcome == nil }.count
        lines.append(passed ? "PASS: no acknowledged write lost at \(rows.count) points" : "FAIL: \(lost) acknowledged loss(es), \(unjudged) not judged")
        return lines
    }
}

public struct PostgresCrashTable {
    public let options: PostgresCrashTableOptions
    let server: PostgresServerControl

    public init(_ options: PostgresCrashTableOptions) throws {
        self.options = options
        server = try PostgresServerControl(dataDirectory: options.dataDirectory)
    }

    /// The operations, in order: each names the request to send, given the tasks made so far.
    /// The second task exists for the abort (the gateway's, when no region serves it); the
    /// server restarts before the last status read.
    struct Step {
        var kind: StoreOperationKind?
        var restartsFirst = false
        var request: ([TaskID]) -> StoreRequest
    }

    static let plan = #"{"query":{"task_name":"code_generation","task_description":"crash table","n_rounds":2,"n_samples":2,"n_voters":2}}"#
    static var steps: [Step] {
        let region = Address.region(1)
        let owner = Owner(proxy: .proxy(region: 1, index: 1), incarnation: 1)
        let owned = Epoch(global: 1, regional: 1)
        func create(_ key: String) -> ([TaskID]) -> StoreRequest {
            { _ in .createTask(userID: 1, taskType: "code_generation", description: "crash table", plan: plan, request: plan, clientKey: key) }
        }
        return [
            Step(kind: .create, request: create("crash-table-1")),
            Step(kind: .claimForRegion) { .claim($0[0], epoch: Epoch(global: 1, regional: 0), region: region, owner: nil) },
            Step(kind: .claimByProxy) { .claim($0[0], epoch: owned, region: region, owner: owner) },
            Step(kind: .saveRound) { .saveProgress($0[0], node: RoundCheckpoint.key(node: "n1", round: 1), epoch: owned, result: "plan", inputDigest: "d") },
            Step(kind: .saveProgress) { .saveProgress($0[0], node: "n1", epoch: owned, result: "result", inputDigest: "d") },
            Step(kind: .finish) { .finish($0[0], epoch: owned, outcome: .completed(result: "result")) },
            Step(kind: nil, request: create("crash-table-2")),
            Step(kind: nil) { .claim($0[1], epoch: Epoch(global: 1, regional: 0), region: region, owner: nil) },
            Step(kind: .abort) { .abort($0[1], epoch: Epoch(global: 2, regional: 0), cause: .noRegion(since: .zero)) },
            Step(kind: .statusAfterRestart, restartsFirst: true) { .taskStatus($0[0]) },
        ]
    }

    public func run() throws -> PostgresCrashTableReport {
        // Quiet: every point fails calls on purpose. A dead server's connection can take the
        // whole call limit to fail, so the limit is short.
        var quiet = Logger(label: "agentos.crash-table.postgres")
        quiet.logLevel = .critical
        let store: PostgresTaskStore
        do {
            store = try PostgresTaskStore(url: options.url, logger: quiet, callTimeout: .seconds(2))
        } catch {
            // A table interrupted mid-point leaves the server killed: start it again, once.
            try server.restart()
            store = try PostgresTaskStore(url: options.url, logger: quiet, callTimeout: .seconds(2))
        }
        // The survey: each target's statements, from one pass with no crash.
        try reset(store)
        let statements = try replay(store, upTo: Self.steps.count).statements
        let targets = Self.steps.indices.filter { Self.steps[$0].kind.map(options.operations.contains) ?? false }
        var points: [(step: Int, statement: Int?, before: Bool)] = []
        for step in targets {
            for statement in (statements[step] ?? []).indices {
                points.append((step, statement, true))
                points.append((step, statement, false))
            }
            points.append((step, nil, false))
        }
        var bar = ProgressBar(total: points.count, label: "crash-table postgres", enabled: options.showsProgress)
        var rows: [PostgresCrashRow] = []
        for (done, point) in points.enumerated() {
            rows.append(try crash(store, step: point.step, statement: point.statement, before: point.before, statements: statements[point.step] ?? []))
            bar.update(done + 1)
        }
        bar.finish()
        return PostgresCrashTableReport(url: (try? PostgresURL(options.url).description) ?? "(the given URL)", rows: rows)
    }

    /// One point: a fresh store, the steps before the target, the target with the kill armed.
    func crash(_ store: PostgresTaskStore, step: Int, statement: Int?, before: Bool, statements: [String]) throws -> PostgresCrashRow {
        let kind = Self.steps[step].kind!
        let label = statement.map { "#\($0 + 1) " + Self.words(statements[$0]) } ?? "after the reply"
        var row = PostgresCrashRow(operation: kind, boundary: label, variant: statement == nil ? "kill" : before ? "before" : "after")
        try reset(store)
        let tasks = try replay(store, upTo: step).tasks
        if Self.steps[step].restartsFirst { try restart(store) }
        let snapshotBefore = try StoreSnapshot(store: store)
        var seen = 0
        var killed = false
        var killError: Error?
        if let statement {
            // Statement `statement` (from 0): the kill comes as it is sent, or once it is answered.
            store.statementProbe = { _, answered in
                guard !killed else { return }
                if seen == statement, answered != before {
                    killed = true
                    do { try server.kill() } catch { killError = error }
                }
                if answered { seen += 1 }
            }
        }
        let request = Self.steps[step].request(tasks)
        let effects = Self.execute(request, on: store)
        store.statementProbe = nil
        if let killError { throw killError }
        let acknowledged = !Self.failed(effects)
        if statement == nil {
            try server.kill()
            killed = true
        }
        guard killed else {
            row.problem = "the statement was never reached"
            return row
        }
        try server.restart()
        let recovered = try StoreSnapshot(store: store)
        let judged = CrashTable.judgeEffects(effects[...])
        let operation = SurveyedOperation(
            kind: kind, ordinal: 1, time: .zero, boundaries: [], applied: statement == nil ? judged.applied : true, request: request,
            // A create that never answered made the one task the recovered store has beyond
            // the ones before it, if any.
            createdTask: judged.created ?? Set(recovered.tasks.map(\.taskID)).subtracting(snapshotBefore.tasks.map(\.taskID)).min())
        let lost = CrashTable.regressions(from: snapshotBefore, to: recovered)
        let present = Self.isRead(request) ? nil : CrashTable.effectPresent(operation, in: recovered)
        if !lost.isEmpty {
            row.outcome = .lost
            row.problem = lost.prefix(3).joined(separator: "; ")
        } else if acknowledged {
            row.outcome = present == false ? .lost : .keptAcknowledged
        } else if present == true {
            row.outcome = .keptUnacknowledged
        } else {
            // The caller sends it again, as every role does after a failed store call.
            let retried = Self.execute(request, on: store)
            row.outcome = Self.failed(retried) ? .absent : .reExecuted
            if Self.failed(retried) { row.problem = "the retry failed too" }
        }
        return row
    }

    /// Runs the steps before `end` on an empty store; returns the tasks they made and each
    /// step's statements.
    func replay(_ store: PostgresTaskStore, upTo end: Int) throws -> (tasks: [TaskID], statements: [Int: [String]]) {
        var tasks: [TaskID] = []
        final class Sent: @unchecked Sendable { var statements: [Int: [String]] = [:] }
        let sent = Sent()
        for index in 0..<end {
            if Self.steps[index].restartsFirst { try restart(store) }
            store.statementProbe = { sql, answered in if !answered { sent.statements[index, default: []].append(sql) } }
            let effects = Self.execute(Self.steps[index].request(tasks), on: store)
            store.statementProbe = nil
            if Self.failed(effects) { throw CampaignError("crash-table: step \(index + 1) failed on the PostgreSQL store without any crash: \(effects)") }
            if case .createTask = Self.steps[index].request(tasks), let created = CrashTable.judgeEffects(effects[...]).created { tasks.append(created) }
        }
        return (tasks, sent.statements)
    }

    func restart(_ store: PostgresTaskStore) throws {
        try server.kill()
        try server.restart()
    }

    /// An empty store: every task and its rows deleted (ids keep growing, which no outcome reads).
    func reset(_ store: PostgresTaskStore) throws {
        for task in try store.allTasks() { try store.deleteTask(task.taskID) }
    }

    /// The request through the shipped store node; its effects (observations and the reply).
    static func execute(_ request: StoreRequest, on store: PostgresTaskStore) -> [CoreEffect] {
        var node = StoreNode(store: store)
        var random = SeededSource(seed: 1)
        return node.handle(
            .message(from: .gateway, .storeRequest(requestID: 1, request)), context: CoreContext(now: .zero, address: .store, incarnation: 1),
            random: &random)
    }

    static func failed(_ effects: [CoreEffect]) -> Bool {
        effects.contains { effect in
            if case .send(_, .storeReply(_, .failed)) = effect { return true }
            return false
        }
    }

    static func isRead(_ request: StoreRequest) -> Bool {
        if case .taskStatus = request { return true }
        return false
    }

    /// A statement's first words, for the table.
    static func words(_ sql: String) -> String {
        let flat = sql.split(whereSeparator: \.isWhitespace).prefix(3).joined(separator: " ")
        return flat.count > 40 ? String(flat.prefix(40)) : flat
    }
}

/// The server the table kills and restarts, through `pg_ctl`.
struct PostgresServerControl: Sendable {
    let dataDirectory: String
    let pgCtl: String
    /// The data directory's owner, to run `pg_ctl` as when this process is root.
    let runAs: String?

    init(dataDirectory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION", isDirectory: &isDirectory) else {
            throw CampaignError("--postgres-data: '\(dataDirectory)' is not a PostgreSQL data directory (no PG_VERSION)")
        }
        self.dataDirectory = dataDirectory
        let installed = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        let candidates = installed.sorted { $0.compare($1, options: .numeric) == .orderedDescending }.map { "/usr/lib/postgresql/\($0)/bin/pg_ctl" }
            + ["/usr/local/bin/pg_ctl", "/usr/bin/pg_ctl"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw CampaignError("crash-table --postgres: no pg_ctl found (looked in /usr/lib/postgresql/*/bin, /usr/local/bin, /usr/bin)")
        }
        pgCtl = found
        let owner = (try? FileManager.default.attributesOfItem(atPath: dataDirectory))?[.ownerAccountName] as? String
        runAs = getuid() == 0 && owner != nil && owner != "root" ? owner : nil
    }

    /// Where `pg_ctl`'s own output goes (next to the data directory).
    var log: String { (dataDirectory as NSString).deletingLastPathComponent + "/crash-table-pg_ctl.log" }

    /// Runs `pg_ctl` and waits for it with `waitpid`. Not Foundation's `Process`: `pg_ctl start`
    /// leaves a daemon behind, and Foundation's wait for the exit never returned in that case.
    private func pgCtl(_ arguments: [String]) throws {
        let argv = runAs.map { ["/usr/sbin/runuser", "-u", $0, "--", pgCtl] + arguments } ?? [pgCtl] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Every other descriptor closed in the child: the server `pg_ctl` starts outlives it,
        // and an inherited pipe (a caller reading this process's output) would never see EOF.
        let open = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap(Int32.init).filter { $0 > 2 }
        for descriptor in open { posix_spawn_file_actions_addclose(&actions, descriptor) }
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw CampaignError("cannot run \(argv[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw CampaignError("pg_ctl \(arguments.joined(separator: " ")) failed (status \(code)); see \(log)")
        }
    }

    /// SIGQUIT to the postmaster: no checkpoint, no clean shutdown; the next start replays the WAL.
    func kill() throws { try pgCtl(["-D", dataDirectory, "stop", "-m", "immediate", "-w"]) }

    /// Starts it again with the options of its last start.
    func restart() throws { try pgCtl(["-D", dataDirectory, "-w", "-l", dataDirectory + "/../crash-table-server.log", "restart"]) }
}
