import Core
import GRDB
import GRDBSQLite

/// Whole Tasks and Progress rows read straight from SQLite's column API.
///
/// Why not GRDB's `Row`: the store's reads (a task's status on every client poll, the
/// unfinished tasks on every region sweep, the task behind every fenced write) decode full rows,
/// and `Row`'s generic decoding, with its metadata lookups per column, was a fifth of a
/// simulated run. The statements are still GRDB's cached ones; the binding (`withBound`), the
/// stepping and the column reads are done here, by position in the order of the CREATE TABLE.
extension TaskStore {
    static let taskColumns = StoreColumns.task
    static let progressColumns = StoreColumns.progress

    static func taskRows(_ db: Database, sql: String, arguments: SQLArguments = []) throws -> [TaskRecord] {
        try rows(db, sql: sql, arguments: arguments) { raw in
            TaskRecord(
                taskID: sqlite3_column_int64(raw, 0), userID: sqlite3_column_int64(raw, 1), taskType: text(raw, 2) ?? "",
                epoch: Epoch(global: sqlite3_column_int64(raw, 3), regional: sqlite3_column_int64(raw, 4)),
                taskDescription: text(raw, 5) ?? "", ownerRegion: text(raw, 6) ?? "", ownerProxy: text(raw, 7) ?? "",
                status: text(raw, 8).flatMap(TaskStatus.init(rawValue:)) ?? .pending,
                result: text(raw, 9), reason: text(raw, 10), requestDocumentID: integer(raw, 11),
                responseDocumentID: integer(raw, 12), planJSON: text(raw, 13))
        }
    }

    static func progressRows(_ db: Database, sql: String, arguments: SQLArguments) throws -> [ProgressRecord] {
        try rows(db, sql: sql, arguments: arguments) { raw in
            ProgressRecord(
                taskID: sqlite3_column_int64(raw, 0), nodeID: text(raw, 1) ?? "",
                epoch: Epoch(global: sqlite3_column_int64(raw, 2), regional: sqlite3_column_int64(raw, 3)),
                result: text(raw, 4) ?? "", inputDigest: text(raw, 5) ?? "")
        }
    }

    private static func rows<T>(
        _ db: Database, sql: String, arguments: SQLArguments, decode: (SQLiteStatement) -> T
    ) throws -> [T] {
        let raw = try db.cachedStatement(sql: sql).sqliteStatement
        // Reset at once, so the statement holds no read lock after the rows are read.
        defer { sqlite3_reset(raw) }
        return try db.withBound(arguments, to: raw, sql: sql) {
            var decoded: [T] = []
            while true {
                let code = sqlite3_step(raw)
                if code == SQLITE_DONE { return decoded }
                guard code == SQLITE_ROW else { throw db.stepError(code, sql: sql) }
                decoded.append(decode(raw))
            }
        }
    }

    private static func text(_ raw: SQLiteStatement, _ column: Int32) -> String? {
        guard sqlite3_column_type(raw, column) != SQLITE_NULL, let bytes = sqlite3_column_text(raw, column) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(raw, column))), as: UTF8.self)
    }

    private static func integer(_ raw: SQLiteStatement, _ column: Int32) -> Int64? {
        sqlite3_column_type(raw, column) == SQLITE_NULL ? nil : sqlite3_column_int64(raw, column)
    }
}
