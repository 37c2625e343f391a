import Core
import GRDB
import GRDBSQLite

/// A statement's parameter values, in order.
typealias SQLArguments = [(any DatabaseValueConvertible)?]

extension Database {
    /// Runs a statement prepared once per connection: the store's statements run thousands of
    /// times a run, and preparing them each time was a tenth of a simulation's cost.
    ///
    /// GRDB prepares it (and caches it by its text); the binding and stepping are done here,
    /// as the store's reads do, without GRDB's per-statement bookkeeping for database
    /// observation (the store registers no observers), which hashed the tables each statement
    /// touches on every write. The statements run inside the store's own transactions, whose
    /// BEGIN and COMMIT go through GRDB, so GRDB still sees every transaction start and end.
    func run(sql: String, arguments: SQLArguments) throws {
        let raw = try cachedStatement(sql: sql).sqliteStatement
        defer { sqlite3_reset(raw) }
        try withBound(arguments, to: raw, sql: sql) {
            while true {
                let code = sqlite3_step(raw)
                if code == SQLITE_DONE { return }
                guard code == SQLITE_ROW else { throw stepError(code, sql: sql) }
            }
        }
    }

    func stepError(_ code: Int32, sql: String) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqliteConnection)), sql: sql)
    }

    /// Calls `body` with `values` bound to `raw`'s parameters, then clears the bindings. Text
    /// is bound in place (`SQLITE_STATIC`), valid only during `body`: copying it, as a lasting
    /// binding must, was six allocations of every fenced write.
    func withBound<T>(_ values: SQLArguments, to raw: SQLiteStatement, sql: String, _ body: () throws -> T) throws -> T {
        precondition(
            Int(sqlite3_bind_parameter_count(raw)) == values.count,
            "\(values.count) argument(s) for the \(sqlite3_bind_parameter_count(raw)) parameter(s) of: \(sql)")
        defer { sqlite3_clear_bindings(raw) }
        func check(_ code: Int32) throws {
            if code != SQLITE_OK { throw stepError(code, sql: sql) }
        }
        func bind(from index: Int) throws -> T {
            guard index < values.count else { return try body() }
            let position = Int32(index + 1)
            switch values[index]?.databaseValue.storage ?? .null {
            case .null:
                try check(sqlite3_bind_null(raw, position))
            case .int64(let value):
                try check(sqlite3_bind_int64(raw, position, value))
            case .double(let value):
                try check(sqlite3_bind_double(raw, position, value))
            case .string(var text):
                return try text.withUTF8 { bytes in
                    // An empty buffer may have no address; SQLite wants one for empty text.
                    let start = UnsafeRawPointer(bytes.baseAddress) ?? UnsafeRawPointer(("" as StaticString).utf8Start)
                    try check(sqlite3_bind_text(raw, position, start.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil))
                    return try bind(from: index + 1)
                }
            case .blob(let data):
                return try data.withUnsafeBytes { bytes in
                    try check(sqlite3_bind_blob(raw, position, bytes.baseAddress, Int32(bytes.count), nil))
                    return try bind(from: index + 1)
                }
            }
            return try bind(from: index + 1)
        }
        return try bind(from: 0)
    }
}

/// How the store's file is opened: SQLite's journal mode and synchronous level. The default is
/// the real shell's; anything weaker can lose acknowledged writes at a power loss, which the
/// simulator's power-loss fault shows.
public struct StoreFileSettings: Codable, Hashable, Sendable {
    public enum JournalMode: String, Codable, Sendable { case wal = "WAL", delete = "DELETE", truncate = "TRUNCATE" }
    public enum Synchronous: String, Codable, Sendable { case full = "FULL", normal = "NORMAL", off = "OFF" }

    public var journalMode: JournalMode
    public var synchronous: Synchronous

    public init(journalMode: JournalMode = .wal, synchronous: Synchronous = .full) {
        self.journalMode = journalMode
        self.synchronous = synchronous
    }

    public static let durable = StoreFileSettings()
}

/// The SQLite store (GRDB): the seed README's Documents, Tasks and Progress tables and API,
/// extended with task ownership, status and results. Writes follow design section 5: claims
/// must be strictly greater than the stored epoch (lexicographic), data writes must carry
/// exactly the current epoch, and a retry of an applied write is applied again idempotently.
/// Every statement is parameterised.
public final class TaskStore: TaskStoreBackend, @unchecked Sendable {
    // GRDB's DatabaseQueue serialises access itself; the read cache is touched only inside it.
    let database: DatabaseQueue
    let readCache: StoreReadCache

    /// An in-memory store (the simulator's: durable across node crashes for as long as the
    /// object lives, which is the whole run).
    public convenience init() throws {
        // Nothing else can open a private in-memory database.
        try self.init(queue: DatabaseQueue(), soleConnection: true)
    }

    /// A store in a SQLite file, opened with `settings` (by default WAL with synchronous
    /// commits: an acknowledged write survives a power loss). The simulator opens its store
    /// through this very code, on a simulated disk.
    ///
    /// `soleConnection`: the caller vouches that no other connection will write the file while
    /// this one is open (the simulator's file lives on a disk private to its run). The read
    /// cache then skips its check for other connections' commits, a `PRAGMA data_version` on
    /// every cached read, which was a fifth of the cost of the reads it saved. A real shell's
    /// file can be written by another process, so the default is false.
    public convenience init(path: String, settings: StoreFileSettings = .durable, soleConnection: Bool = false) throws {
        var configuration = Configuration()
        // Another connection to the file (a second process, an operator's sqlite3 shell) may hold
        // the write lock for a moment: wait for it rather than fail the write at once.
        configuration.busyMode = .timeout(5)
        let synchronous = settings.synchronous
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
        }
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = \(settings.journalMode.rawValue)") }
        try self.init(queue: queue, soleConnection: soleConnection)
    }

    /// One-statement reads need no transaction: the queue serialises every access, so skip
    /// the read transaction GRDB would open (and its statements) each time.
    func reading<T>(_ body: (Database) throws -> T) throws -> T {
        try database.inDatabase(body)
    }

    init(queue: DatabaseQueue, soleConnection: Bool) throws {
        database = queue
        readCache = StoreReadCache(checksOtherConnections: !soleConnection)
        try database.write { db in try Self.createSchema(db) }
    }

    static func createSchema(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE IF NOT EXISTS Documents (
                    doc_id INTEGER PRIMARY KEY,
                    doc_type TEXT NOT NULL,
                    doc_content TEXT NOT NULL
                );
                CREATE TABLE IF NOT EXISTS Tasks (
                    task_id INTEGER PRIMARY KEY,
                    user_id INTEGER NOT NULL,
                    task_type TEXT NOT NULL,
                    global_epoch INTEGER NOT NULL,
                    regional_epoch INTEGER NOT NULL,
                    task_description TEXT NOT NULL,
                    owner_region TEXT NOT NULL DEFAULT '',
                    owner_proxy TEXT NOT NULL DEFAULT '',
                    status TEXT NOT NULL DEFAULT 'pending',
                    result TEXT,
                    reason TEXT,
                    request_doc_id INTEGER,
                    response_doc_id INTEGER,
                    client_key TEXT UNIQUE,
                    plan TEXT
                );
                CREATE INDEX IF NOT EXISTS tasks_by_region ON Tasks (owner_region, status);
                CREATE TABLE IF NOT EXISTS Progress (
                    task_id INTEGER NOT NULL,
                    node_id TEXT NOT NULL,
                    global_epoch INTEGER NOT NULL,
                    regional_epoch INTEGER NOT NULL,
                    result TEXT NOT NULL,
                    input_digest TEXT NOT NULL DEFAULT '',
                    PRIMARY KEY (task_id, node_id),
                    FOREIGN KEY (task_id) REFERENCES Tasks (task_id)
                );
                """)
        // A store written before tasks kept their plan in a column of its own: add the column;
        // those rows keep the plan in task_description, where `TaskRecord.plan` still finds it.
        let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(Tasks)").map { $0["name"] as String }
        if !columns.contains("plan") { try db.execute(sql: "ALTER TABLE Tasks ADD COLUMN plan TEXT") }
    }

    // MARK: Documents

    public func storeDocument(type: String, content: String) throws -> Int64 {
        try writingDocument { db in
            try db.run(sql: "INSERT INTO Documents (doc_type, doc_content) VALUES (?, ?)", arguments: [type, content])
            return db.lastInsertedRowID
        }
    }

    public func getDocument(_ id: Int64) throws -> String? {
        try reading { db in try String.fetchOne(try db.cachedStatement(sql: "SELECT doc_content FROM Documents WHERE doc_id = ?"), arguments: [id]) }
    }

    @discardableResult
    public func deleteDocument(_ id: Int64) throws -> Bool {
        try writingDocument { db in
            try db.run(sql: "DELETE FROM Documents WHERE doc_id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    // MARK: Tasks

    /// Creates a task at epoch (0, 0), storing the request as a Document and the validated plan
    /// (the query and its graph, canonical JSON) in its own column. With a `clientKey`,
    /// a retried create returns the task the first attempt created; `sameRequest` is false when
    /// the key was first used with a different request (a client reusing a key by mistake).
    public func createTask(
        userID: Int64, taskType: String, description: String, plan: String? = nil, request: String? = nil, clientKey: String? = nil
    ) throws -> (taskID: TaskID, created: Bool, sameRequest: Bool) {
        try writingCreation { db in
            if let clientKey,
                let row = try Row.fetchOne(
                    try db.cachedStatement(
                        sql: "SELECT t.task_id, d.doc_content FROM Tasks t LEFT JOIN Documents d ON d.doc_id = t.request_doc_id WHERE t.client_key = ?"),
                    arguments: [clientKey])
            {
                let stored: String? = row[1]
                let id: TaskID = row[0]
                return ((id, false, stored == request), id)
            }
            var requestID: Int64?
            if let request {
                try db.run(sql: "INSERT INTO Documents (doc_type, doc_content) VALUES ('request', ?)", arguments: [request])
                requestID = db.lastInsertedRowID
            }
            try db.run(
                sql: """
                    INSERT INTO Tasks (user_id, task_type, global_epoch, regional_epoch, task_description, request_doc_id, client_key, plan)
                    VALUES (?, ?, 0, 0, ?, ?, ?, ?)
                    """, arguments: [userID, taskType, description, requestID, clientKey, plan])
            let id = db.lastInsertedRowID
            return ((id, true, true), id)
        }
    }

    public func getTask(_ id: TaskID) throws -> TaskRecord? {
        try cachedReading { db, cache in try cache.task(id, db) }
    }

    /// The client's view of a task, read in one access so the saved count matches the status.
    public func taskStatus(_ id: TaskID) throws -> TaskStatusView {
        try cachedReading { db, cache in
            guard let task = try cache.task(id, db) else { return .nonExist }
            guard task.status == .running else { return TaskStatusView(task) }
            if let saved = cache.saved[id] { return TaskStatusView(task, saved: saved) }
            let saved = try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM Progress WHERE task_id = ?"), arguments: [id]) ?? 0
            cache.remember(saved: saved, of: id)
            return TaskStatusView(task, saved: saved)
        }
    }

    public func getTaskDescription(_ id: TaskID) throws -> String? {
        try reading { db in
            try String.fetchOne(try db.cachedStatement(sql: "SELECT task_description FROM Tasks WHERE task_id = ?"), arguments: [id])
        }
    }

    @discardableResult
    public func updateTaskType(_ id: TaskID, type: String) throws -> Bool {
        try writing(task: id) { db in
            try db.run(sql: "UPDATE Tasks SET task_type = ? WHERE task_id = ?", arguments: [type, id])
            return db.changesCount > 0
        }
    }

    /// The seed's fenced description update: applied only if `epoch` is strictly greater than
    /// the stored epoch, which it then becomes.
    public func updateTaskDescription(_ id: TaskID, epoch: Epoch, description: String) throws -> WriteOutcome {
        try writing(task: id) { db in
            guard let task = try Self.fetchTask(db, id) else { return .rejected(current: nil, reason: .noSuchTask) }
            let decision = FencingRules.updateDescription(task, epoch: epoch)
            guard case .apply = decision else { return decision.outcome }
            try db.run(
                sql: "UPDATE Tasks SET task_description = ?, global_epoch = ?, regional_epoch = ? WHERE task_id = ?",
                arguments: [description, epoch.global, epoch.regional, id])
            return .applied(current: epoch, repeated: false)
        }
    }

    @discardableResult
    public func deleteTask(_ id: TaskID) throws -> Bool {
        try writing(task: id) { db in
            try db.run(sql: "DELETE FROM Progress WHERE task_id = ?", arguments: [id])
            try db.run(sql: "DELETE FROM Tasks WHERE task_id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// Unfinished tasks, in id order; only those owned by `region` when given.
    public func unfinishedTasks(ownedBy region: String?) throws -> [TaskRecord] {
        try cachedReading { db, cache in
            if let list = cache.unfinished(ownedBy: region) { return list }
            cache.remember(unfinished: try Self.taskRows(db, sql: "SELECT \(Self.taskColumns) FROM Tasks WHERE status IN ('pending', 'running')"))
            return cache.unfinished(ownedBy: region)!
        }
    }

    public func allTasks() throws -> [TaskRecord] {
        try reading { db in try Self.taskRows(db, sql: "SELECT \(Self.taskColumns) FROM Tasks ORDER BY task_id") }
    }

    static func fetchTask(_ db: Database, _ id: TaskID) throws -> TaskRecord? {
        try taskRows(db, sql: "SELECT \(taskColumns) FROM Tasks WHERE task_id = ?", arguments: [id]).first
    }

    // MARK: Progress

    public func getProgress(_ id: TaskID, node: String) throws -> ProgressRecord? {
        try reading { db in
            try Self.progressRows(
                db, sql: "SELECT \(Self.progressColumns) FROM Progress WHERE task_id = ? AND node_id = ?", arguments: [id, node]
            ).first
        }
    }

    public func getProgressList(_ id: TaskID) throws -> [ProgressRecord] {
        try reading { db in
            try Self.progressRows(db, sql: "SELECT \(Self.progressColumns) FROM Progress WHERE task_id = ? ORDER BY node_id", arguments: [id])
        }
    }

    /// The whole Progress table in one query (an audit reads it at the end of every run).
    public func allProgress() throws -> [TaskID: [ProgressRecord]] {
        try reading { db in
            let rows = try Self.progressRows(db, sql: "SELECT \(Self.progressColumns) FROM Progress ORDER BY task_id, node_id", arguments: [])
            return Dictionary(grouping: rows, by: \.taskID)
        }
    }

    @discardableResult
    public func deleteProgress(_ id: TaskID, node: String) throws -> Bool {
        try writing(task: id, taskRow: false) { db in
            try db.run(sql: "DELETE FROM Progress WHERE task_id = ? AND node_id = ?", arguments: [id, node])
            return db.changesCount > 0
        }
    }
}
