import Core
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO

/// The store on PostgreSQL (postgres-nio): the seed's Documents, Tasks and Progress tables and
/// API, with the same fenced writes and verdicts as the SQLite store (`FencingRules`).
///
/// Isolation and locking: each fenced write is one READ COMMITTED transaction that first reads
/// the task row with `SELECT ... FOR UPDATE`. The row lock serialises every writer of one task,
/// from this process or any other sharing the database, so the verdict is taken on the row as
/// it is when the write applies: no claim can slip between the read and the update, and two
/// owners cannot both save a node's first result. Writes to different tasks never wait for each
/// other. A node's result is keyed (task, node), so a second first-result is also refused by
/// the primary key.
///
/// Calls block the calling thread (the store role has a thread of its own) on one connection,
/// each with a time limit: a server that stops answering fails requests instead of hanging
/// them, and the next call connects again.
public final class PostgresTaskStore: TaskStoreBackend, @unchecked Sendable {
    public let url: PostgresURL
    /// Every call: long enough for a busy server, short enough that clients get a 503, not a hang.
    public static let timeout: TimeAmount = .seconds(10)
    /// This store's limit on every call (`timeout` unless the opener says otherwise).
    public let callTimeout: TimeAmount

    private let logger: Logger
    // All state below is guarded by `lock`.
    private let lock = NSRecursiveLock()
    private var connection: PostgresConnection?
    private var connections = 0
    /// Calls failed in a row since the server last answered: the first failure of an outage
    /// and the recovery after it are logged, not every call in between.
    private var failuresInARow = 0

    /// Connects and creates the tables if they are missing; a server that cannot be reached is
    /// an error naming the (redacted) URL.
    /// `callTimeout`: a harness that kills the server on purpose waits less for a dead one.
    public convenience init(url text: String, logger: Logger = Logger(label: "agentos.store.postgres"), callTimeout: TimeAmount = PostgresTaskStore.timeout) throws {
        try self.init(url: text, logger: logger, createTables: true, callTimeout: callTimeout)
    }

    private init(url text: String, logger: Logger, createTables: Bool, callTimeout: TimeAmount = PostgresTaskStore.timeout) throws {
        self.callTimeout = callTimeout
        url = try PostgresURL(text)
        self.logger = logger
        try lock.withLock {
            if createTables { try migrate() } else { _ = try connected() }
        }
    }

    deinit {
        let closing: EventLoopFuture<Void>? = connection?.close()
        _ = try? closing?.wait()
    }

    // MARK: - Connection and queries

    private func connected() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        connection = nil
        connections += 1
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        do {
            let made = try wait(
                PostgresConnection.connect(on: loop, configuration: try url.configuration(), id: connections, logger: logger), on: loop)
            connection = made
            return made
        } catch {
            let failure = PostgresStoreError("cannot reach the PostgreSQL store at \(url): \(Self.describe(error))")
            failed(failure)
            throw failure
        }
    }

    /// Logs the first failure of an outage; the store's callers see every one as an error reply.
    private func failed(_ error: PostgresStoreError) {
        failuresInARow += 1
        if failuresInARow == 1 {
            logger.error("the PostgreSQL store is failing; writes and reads wait and are retried", metadata: ["error": "\(error)"])
        }
    }

    private func answered() {
        if failuresInARow > 0 {
            logger.notice("the PostgreSQL store answers again", metadata: ["failed_calls": "\(failuresInARow)"])
        }
        failuresInARow = 0
    }

    /// A future's value, or an error after `timeout`.
    private func wait<T: Sendable>(_ future: EventLoopFuture<T>, on loop: any EventLoop) throws -> T {
        let promise = loop.makePromise(of: T.self)
        let finished = NIOLockedValueBox(false)
        func complete(_ result: Result<T, any Error>) {
            let first = finished.withLockedValue { done in
                defer { done = true }
                return !done
            }
            if first { promise.completeWith(result) }
        }
        let timer = loop.scheduleTask(in: callTimeout) {
            complete(.failure(PostgresStoreError("no answer within \(Double(self.callTimeout.nanoseconds) / 1e9) s")))
        }
        future.whenComplete { result in
            timer.cancel()
            complete(result)
        }
        return try promise.futureResult.wait()
    }

    /// Called with each statement's text just before it is sent (`answered` false) and just
    /// after its answer came back (true), while set: `agentos crash-table --postgres` kills the
    /// server at these statement boundaries. Nil in the shell, where it costs one nil check.
    public var statementProbe: ((_ sql: String, _ answered: Bool) -> Void)? {
        get { lock.withLock { probe } }
        set { lock.withLock { probe = newValue } }
    }
    private var probe: ((String, Bool) -> Void)?

    @discardableResult
    private func run(_ query: PostgresQuery) throws -> [PostgresRow] {
        let connection = try connected()
        do {
            probe?(query.sql, false)
            let rows = try wait(connection.query(query, logger: logger), on: connection.eventLoop).rows
            probe?(query.sql, true)
            answered()
            return rows
        } catch {
            if !(error is PSQLError) || connection.isClosed {
                // The connection's state is unknown after a timeout or a broken socket: the next
                // call starts a new one.
                let closing: EventLoopFuture<Void> = connection.close()
                closing.whenComplete { _ in }
                self.connection = nil
            }
            let failure = PostgresStoreError("the PostgreSQL store failed: \(Self.describe(error))")
            failed(failure)
            throw failure
        }
    }

    /// Runs `body` in one transaction; rolls back if it throws.
    private func transaction<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock {
            try run("BEGIN")
            do {
                let value = try body()
                try run("COMMIT")
                return value
            } catch {
                _ = try? run("ROLLBACK")
                throw error
            }
        }
    }

    private func reading<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock { try body() }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return String(describing: error)
    }

    private func migrate() throws {
        try transaction {
            // Several processes may start against one new database at once.
            try run("SELECT pg_advisory_xact_lock(727274001)")
            try run(
                """
                CREATE TABLE IF NOT EXISTS documents (
                    doc_id BIGSERIAL PRIMARY KEY, doc_type TEXT NOT NULL, doc_content TEXT NOT NULL)
                """)
            try run(
                """
                CREATE TABLE IF NOT EXISTS tasks (
                    task_id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL, task_type TEXT NOT NULL,
                    global_epoch BIGINT NOT NULL, regional_epoch BIGINT NOT NULL, task_description TEXT NOT NULL,
                    owner_region TEXT NOT NULL DEFAULT '', owner_proxy TEXT NOT NULL DEFAULT '',
                    status TEXT NOT NULL DEFAULT 'pending', result TEXT, reason TEXT,
                    request_doc_id BIGINT, response_doc_id BIGINT, client_key TEXT UNIQUE, plan TEXT)
                """)
            try run("CREATE INDEX IF NOT EXISTS tasks_by_region ON tasks (owner_region, status)")
            try run(
                """
                CREATE TABLE IF NOT EXISTS progress (
                    task_id BIGINT NOT NULL REFERENCES tasks (task_id), node_id TEXT NOT NULL,
                    global_epoch BIGINT NOT NULL, regional_epoch BIGINT NOT NULL, result TEXT NOT NULL,
                    input_digest TEXT NOT NULL DEFAULT '', PRIMARY KEY (task_id, node_id))
                """)
        }
    }

    // MARK: - Rows

    private static let taskColumns = StoreColumns.task

    private static func task(_ row: PostgresRow) throws -> TaskRecord {
        let (id, user, type, global, regional, description, region, proxy, status, result, reason, request, response, plan) = try row.decode(
            (Int64, Int64, String, Int64, Int64, String, String, String, String, String?, String?, Int64?, Int64?, String?).self)
        return TaskRecord(
            taskID: id, userID: user, taskType: type, epoch: Epoch(global: global, regional: regional), taskDescription: description,
            ownerRegion: region, ownerProxy: proxy, status: TaskStatus(rawValue: status) ?? .pending, result: result, reason: reason,
            requestDocumentID: request, responseDocumentID: response, planJSON: plan)
    }

    private static func progress(_ row: PostgresRow) throws -> ProgressRecord {
        let (id, node, global, regional, result, digest) = try row.decode((Int64, String, Int64, Int64, String, String).self)
        return ProgressRecord(taskID: id, nodeID: node, epoch: Epoch(global: global, regional: regional), result: result, inputDigest: digest)
    }

    private func fetchTask(_ id: TaskID, forUpdate: Bool = false) throws -> TaskRecord? {
        let sql = "SELECT \(Self.taskColumns) FROM tasks WHERE task_id = $1" + (forUpdate ? " FOR UPDATE" : "")
        return try run(PostgresQuery(unsafeSQL: sql, binds: try Self.binds(id))).first.map(Self.task)
    }

    private static func binds(_ values: any PostgresEncodable & Sendable...) throws -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { try bindings.append(value) }
        return bindings
    }

    // MARK: - Documents

    public func storeDocument(type: String, content: String) throws -> Int64 {
        try transaction {
            try run("INSERT INTO documents (doc_type, doc_content) VALUES (\(type), \(content)) RETURNING doc_id").first!.decode(Int64.self)
        }
    }

    public func getDocument(_ id: Int64) throws -> String? {
        try reading { try run("SELECT doc_content FROM documents WHERE doc_id = \(id)").first?.decode(String.self) }
    }

    public func deleteDocument(_ id: Int64) throws -> Bool {
        try transaction { try !run("DELETE FROM documents WHERE doc_id = \(id) RETURNING doc_id").isEmpty }
    }

    // MARK: - Tasks

    public func createTask(
        userID: Int64, taskType: String, description: String, plan: String?, request: String?, clientKey: String?
    ) throws -> (taskID: TaskID, created: Bool, sameRequest: Bool) {
        func existing() throws -> (TaskID, Bool, Bool)? {
            guard let clientKey,
                let row = try run(
                    """
                    SELECT t.task_id, d.doc_content FROM tasks t LEFT JOIN documents d ON d.doc_id = t.request_doc_id WHERE t.client_key = \(clientKey)
                    """
                ).first
            else { return nil }
            let (id, stored) = try row.decode((Int64, String?).self)
            return (id, false, stored == request)
        }
        return try transaction {
            if let found = try existing() { return found }
            var requestID: Int64?
            if let request {
                requestID = try run("INSERT INTO documents (doc_type, doc_content) VALUES ('request', \(request)) RETURNING doc_id").first!.decode(Int64.self)
            }
            // A concurrent create with the same key (another store process) may win: then the
            // insert does nothing and the winner's task is the answer.
            let inserted = try run(
                """
                INSERT INTO tasks (user_id, task_type, global_epoch, regional_epoch, task_description, request_doc_id, client_key, plan)
                VALUES (\(userID), \(taskType), 0, 0, \(description), \(requestID), \(clientKey), \(plan))
                ON CONFLICT (client_key) DO NOTHING RETURNING task_id
                """)
            if let row = inserted.first { return (try row.decode(Int64.self), true, true) }
            guard let found = try existing() else { throw PostgresStoreError("the task with key \(clientKey ?? "") vanished while being created") }
            return found
        }
    }

    public func getTask(_ id: TaskID) throws -> TaskRecord? {
        try reading { try fetchTask(id) }
    }

    /// The client's view, read in one statement (one snapshot), so the saved count matches the
    /// status: two statements would each see their own snapshot under READ COMMITTED.
    public func taskStatus(_ id: TaskID) throws -> TaskStatusView {
        try reading {
            let sql = "SELECT \(Self.taskColumns), (SELECT COUNT(*) FROM progress p WHERE p.task_id = tasks.task_id) FROM tasks WHERE task_id = $1"
            guard let row = try run(PostgresQuery(unsafeSQL: sql, binds: try Self.binds(id))).first else { return .nonExist }
            let task = try Self.task(row)
            guard task.status == .running else { return TaskStatusView(task) }
            return TaskStatusView(task, saved: Int(try row.makeRandomAccess()[14].decode(Int64.self)))
        }
    }

    public func getTaskDescription(_ id: TaskID) throws -> String? {
        try reading { try run("SELECT task_description FROM tasks WHERE task_id = \(id)").first?.decode(String.self) }
    }

    public func updateTaskType(_ id: TaskID, type: String) throws -> Bool {
        try transaction { try !run("UPDATE tasks SET task_type = \(type) WHERE task_id = \(id) RETURNING task_id").isEmpty }
    }

    public func updateTaskDescription(_ id: TaskID, epoch: Epoch, description: String) throws -> WriteOutcome {
        try transaction {
            guard let task = try fetchTask(id, forUpdate: true) else { return .rejected(current: nil, reason: .noSuchTask) }
            let decision = FencingRules.updateDescription(task, epoch: epoch)
            guard case .apply = decision else { return decision.outcome }
            try run(
                """
                UPDATE tasks SET task_description = \(description), global_epoch = \(epoch.global), regional_epoch = \(epoch.regional)
                WHERE task_id = \(id)
                """)
            return decision.outcome
        }
    }

    public func deleteTask(_ id: TaskID) throws -> Bool {
        try transaction {
            try run("DELETE FROM progress WHERE task_id = \(id)")
            return try !run("DELETE FROM tasks WHERE task_id = \(id) RETURNING task_id").isEmpty
        }
    }

    public func unfinishedTasks(ownedBy region: String?) throws -> [TaskRecord] {
        try reading {
            let filter = region == nil ? "" : " AND owner_region = $1"
            let sql = "SELECT \(Self.taskColumns) FROM tasks WHERE status IN ('pending', 'running')\(filter) ORDER BY task_id"
            return try run(PostgresQuery(unsafeSQL: sql, binds: try region.map { try Self.binds($0) } ?? PostgresBindings())).map(Self.task)
        }
    }

    public func allTasks() throws -> [TaskRecord] {
        try reading { try run(PostgresQuery(unsafeSQL: "SELECT \(Self.taskColumns) FROM tasks ORDER BY task_id")).map(Self.task) }
    }

    // MARK: - Progress

    private static let progressColumns = StoreColumns.progress

    public func getProgress(_ id: TaskID, node: String) throws -> ProgressRecord? {
        try reading {
            try run(PostgresQuery(unsafeSQL: "SELECT \(Self.progressColumns) FROM progress WHERE task_id = $1 AND node_id = $2", binds: try Self.binds(id, node)))
                .first.map(Self.progress)
        }
    }

    public func getProgressList(_ id: TaskID) throws -> [ProgressRecord] {
        try reading {
            try run(PostgresQuery(unsafeSQL: "SELECT \(Self.progressColumns) FROM progress WHERE task_id = $1 ORDER BY node_id", binds: try Self.binds(id)))
                .map(Self.progress)
        }
    }

    public func deleteProgress(_ id: TaskID, node: String) throws -> Bool {
        try transaction { try !run("DELETE FROM progress WHERE task_id = \(id) AND node_id = \(node) RETURNING task_id").isEmpty }
    }

    // MARK: - Fenced writes

    /// One fenced write: the task row locked, the verdict from `FencingRules`, the change applied.
    private func judged(_ id: TaskID, _ judge: (TaskRecord) throws -> WriteOutcome) throws -> Judged {
        try transaction {
            guard let task = try fetchTask(id, forUpdate: true) else { return Judged(outcome: .rejected(current: nil, reason: .noSuchTask), before: nil) }
            return Judged(outcome: try judge(task), before: task.epoch)
        }
    }

    public func claimJudged(_ id: TaskID, epoch: Epoch, region: String, proxy: String) throws -> Judged {
        try judged(id) { task in
            let decision = FencingRules.claim(task, epoch: epoch, region: region, proxy: proxy)
            guard case .apply(let verdict) = decision else { return decision.outcome }
            let status = FencingRules.statusAfterClaim(task, proxy: proxy).rawValue
            try run(
                """
                UPDATE tasks SET global_epoch = \(epoch.global), regional_epoch = \(epoch.regional), owner_region = \(region),
                owner_proxy = \(proxy), status = \(status) WHERE task_id = \(id)
                """)
            return verdict
        }
    }

    public func saveProgressJudged(_ id: TaskID, node: String, epoch: Epoch, result: String, inputDigest: String) throws -> Judged {
        try judged(id) { task in
            let existing = try run(
                PostgresQuery(unsafeSQL: "SELECT \(Self.progressColumns) FROM progress WHERE task_id = $1 AND node_id = $2", binds: try Self.binds(id, node))
            ).first.map(Self.progress)
            let decision = FencingRules.saveProgress(task, existing: existing, epoch: epoch, result: result, inputDigest: inputDigest)
            guard case .apply(let verdict) = decision else { return decision.outcome }
            try run(
                """
                INSERT INTO progress (task_id, node_id, global_epoch, regional_epoch, result, input_digest)
                VALUES (\(id), \(node), \(epoch.global), \(epoch.regional), \(result), \(inputDigest))
                """)
            return verdict
        }
    }

    public func finishJudged(_ id: TaskID, epoch: Epoch, outcome: TaskOutcome) throws -> Judged {
        try judged(id) { task in
            let decision = FencingRules.finish(task, epoch: epoch, outcome: outcome)
            guard case .apply(let verdict) = decision else { return decision.outcome }
            try writeOutcome(id, outcome)
            return verdict
        }
    }

    public func abortJudged(_ id: TaskID, epoch: Epoch, cause: AbortCause) throws -> Judged {
        try judged(id) { task in
            let decision = FencingRules.abort(task, epoch: epoch, cause: cause)
            guard case .apply(let verdict) = decision else { return decision.outcome }
            try run(
                """
                UPDATE tasks SET global_epoch = \(epoch.global), regional_epoch = \(epoch.regional), owner_region = '', owner_proxy = ''
                WHERE task_id = \(id)
                """)
            try writeOutcome(id, .aborted(cause))
            return verdict
        }
    }

    private func writeOutcome(_ id: TaskID, _ outcome: TaskOutcome) throws {
        let text = outcome.result ?? outcome.reason ?? ""
        let document = try run("INSERT INTO documents (doc_type, doc_content) VALUES ('response', \(text)) RETURNING doc_id").first!.decode(Int64.self)
        try run(
            """
            UPDATE tasks SET status = \(outcome.status.rawValue), result = \(outcome.result), reason = \(outcome.reason),
            response_doc_id = \(document) WHERE task_id = \(id)
            """)
    }
}

extension PostgresTaskStore {
    /// Creates an empty database beside the one `url` names and returns its URL: for tests and
    /// examples that need a store of their own on a shared server.
    public static func createDatabase(_ name: String, beside url: String) throws -> String {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !name.isEmpty else {
            throw PostgresStoreError("a database name must be letters, digits and underscores: \(name)")
        }
        let admin = try PostgresTaskStore(url: url, logger: Logger(label: "agentos.store.postgres"), createTables: false)
        try admin.lock.withLock { _ = try admin.run(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        guard var components = URLComponents(string: url) else { throw PostgresStoreError("not a URL: \(url)") }
        components.path = "/\(name)"
        return components.string ?? url
    }
}
