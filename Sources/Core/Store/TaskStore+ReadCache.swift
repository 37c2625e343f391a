import GRDB
import GRDBSQLite

/// The rows this connection has read, served again while nothing changed them.
///
/// Most of a store's reads are repeats: every client poll reads its task's status, and every
/// region sweep lists the unfinished tasks, while the rows change only at the few writes a task
/// goes through. Reading them from SQLite each time was a fifth of a simulated run.
///
/// Coherence, which is what makes this safe for the real shell as well as the simulator:
/// - this connection's own writes drop what they touch (`TaskStore`'s write methods call
///   `forget`), inside the write, so no read can see the old row after the write returns;
/// - another connection's commit (a second process on the file, an operator's `sqlite3`
///   shell) changes SQLite's `PRAGMA data_version`, which every cached read checks first, and
///   drops everything.
///
/// It is only ever touched inside the database queue's closures, which serialise it.
final class StoreReadCache {
    /// The data version the cached rows were read at (nil: nothing cached yet).
    private var dataVersion: Int64?
    private(set) var tasks: [TaskID: TaskRecord] = [:]
    /// The number of saved Progress rows of a running task.
    private(set) var saved: [TaskID: Int] = [:]
    /// The unfinished tasks, by the region asked for ("" keys the unfiltered list, which no
    /// region name can collide with: a region name is never empty).
    private(set) var unfinished: [String: [TaskRecord]] = [:]
    /// More cached rows than this and the cache starts over: it holds what is polled now,
    /// not the history of a long-lived store.
    static let rowLimit = 4096

    /// Drops everything when another connection committed since the rows were read.
    func validate(_ db: Database) throws {
        let version = try Self.dataVersion(db)
        if version != dataVersion {
            clear()
            dataVersion = version
        }
    }

    func clear() {
        tasks.removeAll(keepingCapacity: true)
        saved.removeAll(keepingCapacity: true)
        unfinished.removeAll(keepingCapacity: true)
    }

    /// A write of this connection changed task `id`'s row (`taskRow`) or only its Progress rows.
    func forget(_ id: TaskID, taskRow: Bool = true) {
        saved[id] = nil
        if taskRow {
            tasks[id] = nil
            unfinished.removeAll(keepingCapacity: true)
        }
    }

    /// A task was created: the unfinished lists lack it.
    func forgetUnfinished() {
        unfinished.removeAll(keepingCapacity: true)
    }

    func remember(_ task: TaskRecord) {
        if tasks.count >= Self.rowLimit { clear() }
        tasks[task.taskID] = task
    }

    func remember(saved count: Int, of id: TaskID) {
        if saved.count >= Self.rowLimit { saved.removeAll(keepingCapacity: true) }
        saved[id] = count
    }

    func remember(unfinished list: [TaskRecord], region: String?) {
        unfinished[region ?? ""] = list
    }

    /// SQLite's count of commits by other connections, as this connection last saw it.
    private static func dataVersion(_ db: Database) throws -> Int64 {
        let statement = try db.cachedStatement(sql: "PRAGMA data_version")
        let raw = statement.sqliteStatement
        defer { sqlite3_reset(raw) }
        guard sqlite3_step(raw) == SQLITE_ROW else {
            throw DatabaseError(message: "PRAGMA data_version returned no row: \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
        }
        return sqlite3_column_int64(raw, 0)
    }
}

extension TaskStore {
    /// A read that may be answered from the cache: `body` gets the validated cache.
    func cachedReading<T>(_ body: (Database, StoreReadCache) throws -> T) throws -> T {
        try database.inDatabase { db in
            try readCache.validate(db)
            return try body(db, readCache)
        }
    }

    /// A write that changes task `id`: its cached rows go first, inside the write.
    func writing<T>(task id: TaskID, taskRow: Bool = true, _ body: (Database) throws -> T) throws -> T {
        try transaction { db in
            readCache.forget(id, taskRow: taskRow)
            return try body(db)
        }
    }

    /// A write that creates a task: the unfinished lists go.
    func writingNewTask<T>(_ body: (Database) throws -> T) throws -> T {
        try transaction { db in
            readCache.forgetUnfinished()
            return try body(db)
        }
    }

    /// One IMMEDIATE transaction (the write lock is taken at BEGIN, so a fenced write's read of
    /// the task row cannot be overtaken by another connection's write), committed if `body`
    /// returns and rolled back if it throws. GRDB's `write` does the same, but prepares its
    /// BEGIN and COMMIT statements anew each time; parsing them was a tenth of a simulated run.
    func transaction<T>(_ body: (Database) throws -> T) throws -> T {
        try database.writeWithoutTransaction { db in
            try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
            do {
                let value = try body(db)
                try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
                return value
            } catch {
                // SQLite may have rolled back already (an I/O error, a full disk): roll back only
                // what is still open, and report the error that ended the transaction.
                if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK TRANSACTION") }
                throw error
            }
        }
    }
}
