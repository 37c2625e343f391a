import Core
import GRDB
import GRDBSQLite

/// The rows this connection has read, served again while nothing changed them.
///
/// Most of a store's reads are repeats: every client poll reads its task's status, and every
/// region sweep lists the unfinished tasks, while the rows change only at the few writes a task
/// goes through. Reading them from SQLite each time was a fifth of a simulated run.
///
/// Coherence, which is what makes this safe for the real shell as well as the simulator:
/// - after each of this connection's writes commits, the row it wrote is read back from
///   SQLite into the cache (`refresh`), in the same access to the database, so no read can see
///   the old row after the write returns; a write that fails drops everything;
/// - another connection's commit (a second process on the file, an operator's `sqlite3`
///   shell) changes SQLite's `PRAGMA data_version`, which every cached read checks first, and
///   drops everything. A store opened as its file's sole connection (the simulator's) skips
///   the check: nothing else can commit.
///
/// It is only ever touched inside the database queue's closures, which serialise it.
final class StoreReadCache {
    /// The data version the cached rows were read at (nil: nothing cached yet).
    private var dataVersion: Int64?
    private(set) var tasks: [TaskID: TaskRecord] = [:]
    /// The number of saved Progress rows of a running task.
    private(set) var saved: [TaskID: Int] = [:]
    /// Every unfinished task (pending or running), once a list of them was asked for; the
    /// lists by region are filtered from it.
    private var unfinishedRows: [TaskID: TaskRecord]? {
        didSet { unfinishedLists.removeAll(keepingCapacity: true) }
    }
    /// The sorted lists made from `unfinishedRows`, by region (nil for all of them): a region
    /// sweeps several times between two writes, and filtering and sorting the rows again each
    /// time copied every row.
    private var unfinishedLists: [String?: [TaskRecord]] = [:]
    /// More cached rows than this and the cache starts over: it holds what is polled now,
    /// not the history of a long-lived store.
    static let rowLimit = 4096

    /// False when no other connection can write the file (see `TaskStore.init(path:settings:soleConnection:)`).
    let checksOtherConnections: Bool

    init(checksOtherConnections: Bool) {
        self.checksOtherConnections = checksOtherConnections
    }

    /// Drops everything when another connection committed since the rows were read.
    func validate(_ db: Database) throws {
        guard checksOtherConnections else { return }
        let version = try Self.dataVersion(db)
        if version != dataVersion {
            clear()
            dataVersion = version
        }
    }

    func clear() {
        tasks.removeAll(keepingCapacity: true)
        saved.removeAll(keepingCapacity: true)
        unfinishedRows = nil
    }

    /// This connection committed a write to task `id`'s Progress rows: its count is read again
    /// when next asked for.
    func forgetSaved(_ id: TaskID) {
        saved[id] = nil
    }

    /// This connection committed a write to task `id`'s row: the row as SQLite now has it (nil:
    /// deleted) replaces the cached one, in the unfinished tasks too.
    func refresh(_ id: TaskID, _ db: Database) throws {
        saved[id] = nil
        let row = try TaskStore.fetchTask(db, id)
        if let row { remember(row) } else { tasks[id] = nil }
        if unfinishedRows != nil {
            if let row, !row.status.isFinished { unfinishedRows![id] = row } else { unfinishedRows![id] = nil }
        }
    }

    /// Task `id`'s row from the cache, or read from SQLite (and cached) if it is not there.
    func task(_ id: TaskID, _ db: Database) throws -> TaskRecord? {
        if let task = tasks[id] { return task }
        guard let task = try TaskStore.fetchTask(db, id) else { return nil }
        remember(task)
        return task
    }

    func remember(_ task: TaskRecord) {
        if tasks.count >= Self.rowLimit { tasks.removeAll(keepingCapacity: true) }
        tasks[task.taskID] = task
    }

    func remember(saved count: Int, of id: TaskID) {
        if saved.count >= Self.rowLimit { saved.removeAll(keepingCapacity: true) }
        saved[id] = count
    }

    /// The unfinished tasks in id order, only `region`'s when given; nil when not cached.
    func unfinished(ownedBy region: String?) -> [TaskRecord]? {
        guard let rows = unfinishedRows else { return nil }
        if let list = unfinishedLists[region] { return list }
        let owned = region.map { region in rows.values.filter { $0.ownerRegion == region } } ?? Array(rows.values)
        let list = owned.sorted { $0.taskID < $1.taskID }
        unfinishedLists[region] = list
        return list
    }

    func remember(unfinished rows: [TaskRecord]) {
        unfinishedRows = Dictionary(rows.map { ($0.taskID, $0) }, uniquingKeysWith: { first, _ in first })
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

    /// A write to task `id`'s row (`taskRow`) or only to its Progress rows. Once it commits,
    /// the cache takes the row as SQLite now has it. Open to the planted bugs of `bench find`
    /// (through `@_spi(PlantedBugs)`), whose broken stores write past the fencing rules.
    @_spi(PlantedBugs) public func writing<T>(task id: TaskID, taskRow: Bool = true, _ body: (Database) throws -> T) throws -> T {
        try database.writeWithoutTransaction { db in
            let value = try transaction(db, body)
            if taskRow { try readCache.refresh(id, db) } else { readCache.forgetSaved(id) }
            return value
        }
    }

    /// A write that may create a task: `body` returns what it returns and the task it wrote.
    /// (Not named "...Task" before a trailing closure: the determinism lint reads `Task {` as
    /// Swift's unstructured task.)
    func writingCreation<T>(_ body: (Database) throws -> (T, TaskID)) throws -> T {
        try database.writeWithoutTransaction { db in
            let (value, id) = try transaction(db, body)
            try readCache.refresh(id, db)
            return value
        }
    }

    /// A write that touches no cached row (a Document).
    func writingDocument<T>(_ body: (Database) throws -> T) throws -> T {
        try database.writeWithoutTransaction { db in try transaction(db, body) }
    }

    /// One IMMEDIATE transaction (the write lock is taken at BEGIN, so a fenced write's read of
    /// the task row cannot be overtaken by another connection's write), committed if `body`
    /// returns and rolled back if it throws. GRDB's `write` does the same, but prepares its
    /// BEGIN and COMMIT statements anew each time; parsing them was a tenth of a simulated run.
    private func transaction<T>(_ db: Database, _ body: (Database) throws -> T) throws -> T {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            let value = try body(db)
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return value
        } catch {
            // SQLite may have rolled back already (an I/O error, a full disk): roll back only
            // what is still open, forget every cached row (what the failed write left is not
            // worth reasoning about), and report the error that ended the transaction.
            if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK TRANSACTION") }
            readCache.clear()
            throw error
        }
    }
}
