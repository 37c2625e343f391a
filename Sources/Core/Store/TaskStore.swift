import GRDB

/// The SQLite store (GRDB): the seed README's Documents, Tasks and Progress tables and API,
/// extended with task ownership, status and results. Writes follow design section 5: claims
/// must be strictly greater than the stored epoch (lexicographic), data writes must carry
/// exactly the current epoch, and a retry of an applied write is applied again idempotently.
/// Every statement is parameterised.
public final class TaskStore: @unchecked Sendable {
    // GRDB's DatabaseQueue serialises access itself; the class holds no other mutable state.
    let database: DatabaseQueue

    /// An in-memory store (the simulator's: durable across node crashes for as long as the
    /// object lives, which is the whole run).
    public convenience init() throws {
        try self.init(queue: DatabaseQueue())
    }

    /// A store in a SQLite file, in WAL mode with synchronous commits.
    public convenience init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        try queue.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
        try self.init(queue: queue)
    }

    init(queue: DatabaseQueue) throws {
        database = queue
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
                    client_key TEXT UNIQUE
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
    }

    // MARK: Documents

    public func storeDocument(type: String, content: String) throws -> Int64 {
        try database.write { db in
            try db.execute(sql: "INSERT INTO Documents (doc_type, doc_content) VALUES (?, ?)", arguments: [type, content])
            return db.lastInsertedRowID
        }
    }

    public func getDocument(_ id: Int64) throws -> String? {
        try database.read { db in try String.fetchOne(db, sql: "SELECT doc_content FROM Documents WHERE doc_id = ?", arguments: [id]) }
    }

    @discardableResult
    public func deleteDocument(_ id: Int64) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "DELETE FROM Documents WHERE doc_id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    // MARK: Tasks

    /// Creates a task at epoch (0, 0), storing the request as a Document. With a `clientKey`,
    /// a retried create returns the task the first attempt created.
    public func createTask(
        userID: Int64, taskType: String, description: String, request: String? = nil, clientKey: String? = nil
    ) throws -> (taskID: TaskID, created: Bool) {
        try database.write { db in
            if let clientKey,
                let existing = try Int64.fetchOne(db, sql: "SELECT task_id FROM Tasks WHERE client_key = ?", arguments: [clientKey])
            {
                return (existing, false)
            }
            var requestID: Int64?
            if let request {
                try db.execute(sql: "INSERT INTO Documents (doc_type, doc_content) VALUES ('request', ?)", arguments: [request])
                requestID = db.lastInsertedRowID
            }
            try db.execute(
                sql: """
                    INSERT INTO Tasks (user_id, task_type, global_epoch, regional_epoch, task_description, request_doc_id, client_key)
                    VALUES (?, ?, 0, 0, ?, ?, ?)
                    """, arguments: [userID, taskType, description, requestID, clientKey])
            return (db.lastInsertedRowID, true)
        }
    }

    public func getTask(_ id: TaskID) throws -> TaskRecord? {
        try database.read { db in try Self.fetchTask(db, id) }
    }

    public func getTaskDescription(_ id: TaskID) throws -> String? {
        try database.read { db in
            try String.fetchOne(db, sql: "SELECT task_description FROM Tasks WHERE task_id = ?", arguments: [id])
        }
    }

    @discardableResult
    public func updateTaskType(_ id: TaskID, type: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "UPDATE Tasks SET task_type = ? WHERE task_id = ?", arguments: [type, id])
            return db.changesCount > 0
        }
    }

    /// The seed's fenced description update: applied only if `epoch` is strictly greater than
    /// the stored epoch, which it then becomes.
    public func updateTaskDescription(_ id: TaskID, epoch: Epoch, description: String) throws -> WriteOutcome {
        try database.write { db in
            guard let task = try Self.fetchTask(db, id) else { return .rejected(current: nil, reason: .noSuchTask) }
            guard EpochRules.judgeClaim(epoch, current: task.epoch) == .applied else {
                return .rejected(current: task.epoch, reason: .notNewer)
            }
            try db.execute(
                sql: "UPDATE Tasks SET task_description = ?, global_epoch = ?, regional_epoch = ? WHERE task_id = ?",
                arguments: [description, epoch.global, epoch.regional, id])
            return .applied(current: epoch, repeated: false)
        }
    }

    @discardableResult
    public func deleteTask(_ id: TaskID) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "DELETE FROM Progress WHERE task_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM Tasks WHERE task_id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    /// Unfinished tasks, in id order; only those owned by `region` when given.
    public func unfinishedTasks(ownedBy region: String? = nil) throws -> [TaskRecord] {
        try database.read { db in
            let sql = "SELECT * FROM Tasks WHERE status IN ('pending', 'running')" + (region == nil ? "" : " AND owner_region = ?")
                + " ORDER BY task_id"
            let arguments: StatementArguments = region.map { [$0] } ?? []
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.task)
        }
    }

    public func allTasks() throws -> [TaskRecord] {
        try database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM Tasks ORDER BY task_id").map(Self.task) }
    }

    static func fetchTask(_ db: Database, _ id: TaskID) throws -> TaskRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM Tasks WHERE task_id = ?", arguments: [id]).map(task)
    }

    static func task(_ row: Row) -> TaskRecord {
        TaskRecord(
            taskID: row["task_id"], userID: row["user_id"], taskType: row["task_type"],
            epoch: Epoch(global: row["global_epoch"], regional: row["regional_epoch"]), taskDescription: row["task_description"],
            ownerRegion: row["owner_region"], ownerProxy: row["owner_proxy"],
            status: TaskStatus(rawValue: row["status"]) ?? .pending, result: row["result"], reason: row["reason"],
            requestDocumentID: row["request_doc_id"], responseDocumentID: row["response_doc_id"])
    }

    // MARK: Progress

    public func getProgress(_ id: TaskID, node: String) throws -> ProgressRecord? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM Progress WHERE task_id = ? AND node_id = ?", arguments: [id, node]).map(Self.progress)
        }
    }

    public func getProgressList(_ id: TaskID) throws -> [ProgressRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM Progress WHERE task_id = ? ORDER BY node_id", arguments: [id]).map(Self.progress)
        }
    }

    @discardableResult
    public func deleteProgress(_ id: TaskID, node: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "DELETE FROM Progress WHERE task_id = ? AND node_id = ?", arguments: [id, node])
            return db.changesCount > 0
        }
    }

    static func progress(_ row: Row) -> ProgressRecord {
        ProgressRecord(
            taskID: row["task_id"], nodeID: row["node_id"], epoch: Epoch(global: row["global_epoch"], regional: row["regional_epoch"]),
            result: row["result"], inputDigest: row["input_digest"])
    }
}
