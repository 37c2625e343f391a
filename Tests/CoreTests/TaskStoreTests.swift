@testable import Core
import CoreTesting
import Foundation
import PostgresStore
@testable import SQLiteStore
import Testing

func e(_ g: Int64, _ r: Int64) -> Epoch { Epoch(global: g, regional: r) }

/// Every store test runs on SQLite (in memory, and a file in WAL mode) and on PostgreSQL (a
/// fresh database on the server `AGENTOS_TEST_POSTGRES_URL` names; `.ci/run` starts one with
/// `scripts/postgres-test-server`).
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case memory, file, postgres
    var testDescription: String { rawValue }

    static let postgresURL = ProcessInfo.processInfo.environment["AGENTOS_TEST_POSTGRES_URL"]

    /// A new, empty store, and how to open the same data again (a restarted process); nil when
    /// this machine has no PostgreSQL server for the tests (said once, visibly).
    func make() throws -> (store: any TaskStoreBackend, reopen: () throws -> any TaskStoreBackend)? {
        switch self {
        case .memory:
            let store = try TaskStore()
            return (store, { store })
        case .file:
            let path = TemporaryStoreFiles.directory + "/store-\(UInt64.random(in: 0...UInt64.max)).sqlite"
            return (try TaskStore(path: path), { try TaskStore(path: path) })
        case .postgres:
            guard let base = Self.postgresURL else {
                print("SKIPPED on PostgreSQL: AGENTOS_TEST_POSTGRES_URL is not set (start a server with scripts/postgres-test-server start DIR)")
                return nil
            }
            let url = try PostgresTaskStore.createDatabase("store_test_\(UInt64.random(in: 0...UInt64.max))", beside: base)
            return (try PostgresTaskStore(url: url), { try PostgresTaskStore(url: url) })
        }
    }
}

@Suite("TaskStore over real SQLite")
struct TaskStoreTests {
    @Test("a store file from before the plan column opens: the column is added and old rows still give their plan")
    func planColumnMigration() throws {
        let path = TemporaryStoreFiles.directory + "/migration-\(UInt32.random(in: 0...UInt32.max)).sqlite"
        let plan = TaskPlan(query: Query(taskName: "code_generation", taskDescription: "old", nRounds: 1, nSamples: 1, nVoters: 1), graph: TaskGraph(nodes: [GraphNode(id: "main")]))
        do {
            let old = try TaskStore(path: path)
            try old.database.write { db in try db.execute(sql: "ALTER TABLE Tasks DROP COLUMN plan") }
            // The old layout: the plan's JSON in task_description.
            try old.database.write { db in
                try db.execute(
                    sql: "INSERT INTO Tasks (user_id, task_type, global_epoch, regional_epoch, task_description) VALUES (0, 'code_generation', 0, 0, ?)",
                    arguments: [CanonicalJSON.encode(plan)])
            }
        }
        let store = try TaskStore(path: path)
        #expect(try store.getTask(1)?.plan == plan, "the legacy row's plan")
        let new = try store.createTask(userID: 0, taskType: "code_generation", description: "new", plan: CanonicalJSON.encode(plan)).taskID
        let record = try #require(try store.getTask(new))
        #expect(record.taskDescription == "new" && record.plan == plan)
    }

    @Test("the whole Progress table read at once equals reading it task by task", arguments: StoreKind.allCases)
    func allProgressMatchesPerTask(kind: StoreKind) throws {
        guard let store = try kind.make()?.store else { return }
        var ids: [TaskID] = []
        for index in 0..<4 {
            let id = try store.createTask(userID: 1, taskType: "t", description: "d\(index)").taskID
            ids.append(id)
            #expect(try store.claim(id, epoch: e(1, 1), region: "r", proxy: "p#1").isApplied)
            for node in ["b", "a", "c"].prefix(index) {
                #expect(try store.saveProgress(id, node: node, epoch: e(1, 1), result: "\(node)\(index)", inputDigest: "i").isApplied)
            }
        }
        let all = try store.allProgress()
        for id in ids where !(try store.getProgressList(id)).isEmpty {
            #expect(all[id] == (try store.getProgressList(id)), "task \(id)")
        }
        #expect(all[ids[0]] == nil, "a task without progress has no rows")
        #expect(all[ids[3]]?.map(\.nodeID) == ["a", "b", "c"], "rows in node order")
    }

    @Test("the README's four epoch cases give their verdicts", arguments: StoreKind.allCases)
    func readmeEpochCases(kind: StoreKind) throws {
        guard let store = try kind.make()?.store else { return }
        func task(at epoch: Epoch) throws -> TaskID {
            let id = try store.createTask(userID: 1, taskType: "t", description: "d").taskID
            if epoch != .initial { #expect(try store.claim(id, epoch: epoch, region: "r", proxy: "p").isApplied) }
            return id
        }
        let a = try task(at: e(0, 1))
        #expect(try store.claim(a, epoch: e(0, 0), region: "r", proxy: "q") == .rejected(current: e(0, 1), reason: .notNewer))
        let b = try task(at: .initial)
        #expect(try store.claim(b, epoch: e(1, 2), region: "r", proxy: "q") == .applied(current: e(1, 2), repeated: false))
        let c = try task(at: e(5, 6))
        #expect(try store.claim(c, epoch: e(4, 3), region: "r", proxy: "q") == .rejected(current: e(5, 6), reason: .notNewer))
        let d = try task(at: e(2, 5))
        #expect(try store.claim(d, epoch: e(2, 2), region: "r", proxy: "q") == .rejected(current: e(2, 5), reason: .notNewer))
        // The seed's fenced description update follows the same order.
        #expect(try store.updateTaskDescription(d, epoch: e(2, 2), description: "x") == .rejected(current: e(2, 5), reason: .notNewer))
        #expect(try store.updateTaskDescription(d, epoch: e(3, 0), description: "x").isApplied)
        #expect(try store.getTaskDescription(d) == "x")
    }

    @Test("a data write at a stale epoch is rejected even when the node has no progress row", arguments: StoreKind.allCases)
    func staleDataWriteWithoutRow(kind: StoreKind) throws {
        guard let store = try kind.make()?.store else { return }
        let id = try store.createTask(userID: 1, taskType: "t", description: "d").taskID
        _ = try store.claim(id, epoch: e(1, 0), region: "r1", proxy: "")
        _ = try store.claim(id, epoch: e(1, 1), region: "r1", proxy: "p1")
        _ = try store.claim(id, epoch: e(1, 2), region: "r1", proxy: "p2")  // p1 is now fenced
        #expect(try store.saveProgress(id, node: "n", epoch: e(1, 1), result: "x", inputDigest: "i") == .rejected(current: e(1, 2), reason: .staleEpoch))
        #expect(try store.getProgress(id, node: "n") == nil)
        #expect(try store.finish(id, epoch: e(1, 1), outcome: .completed(result: "x")) == .rejected(current: e(1, 2), reason: .staleEpoch))
        // A newer epoch than the current one is not "current" either.
        #expect(try store.saveProgress(id, node: "n", epoch: e(1, 3), result: "x", inputDigest: "i") == .rejected(current: e(1, 2), reason: .staleEpoch))
        #expect(try store.saveProgress(id, node: "n", epoch: e(1, 2), result: "x", inputDigest: "i") == .applied(current: e(1, 2), repeated: false))
    }

    @Test("retries are idempotent; a node keeps its first result", arguments: StoreKind.allCases)
    func idempotentRetries(kind: StoreKind) throws {
        guard let store = try kind.make()?.store else { return }
        let (id, created, _) = try store.createTask(userID: 1, taskType: "t", description: "d", plan: nil, request: "{}", clientKey: "client-1:7")
        #expect(created)
        let retried = try store.createTask(userID: 1, taskType: "t", description: "d", plan: nil, request: "{}", clientKey: "client-1:7")
        #expect(retried.taskID == id && !retried.created && retried.sameRequest)
        // The same key with another request creates nothing and says so.
        let reused = try store.createTask(userID: 1, taskType: "t", description: "d", plan: nil, request: #"{"other":1}"#, clientKey: "client-1:7")
        #expect(reused.taskID == id && !reused.created && !reused.sameRequest)
        #expect(try store.allTasks().count == 1)
        #expect(try store.claim(id, epoch: e(1, 1), region: "r", proxy: "p") == .applied(current: e(1, 1), repeated: false))
        #expect(try store.claim(id, epoch: e(1, 1), region: "r", proxy: "p") == .applied(current: e(1, 1), repeated: true))
        #expect(try store.claim(id, epoch: e(1, 1), region: "r", proxy: "other") == .rejected(current: e(1, 1), reason: .notNewer))
        #expect(try store.saveProgress(id, node: "a", epoch: e(1, 1), result: "A", inputDigest: "i") == .applied(current: e(1, 1), repeated: false))
        #expect(try store.saveProgress(id, node: "a", epoch: e(1, 1), result: "A", inputDigest: "i") == .applied(current: e(1, 1), repeated: true))
        #expect(try store.saveProgress(id, node: "a", epoch: e(1, 1), result: "B", inputDigest: "i") == .rejected(current: e(1, 1), reason: .conflict))
        // A later owner cannot overwrite a saved node either.
        _ = try store.claim(id, epoch: e(1, 2), region: "r", proxy: "q")
        #expect(!(try store.saveProgress(id, node: "a", epoch: e(1, 2), result: "C", inputDigest: "i")).isApplied)
        #expect(try store.getProgress(id, node: "a")?.result == "A")
        #expect(try store.finish(id, epoch: e(1, 2), outcome: .completed(result: "A")) == .applied(current: e(1, 2), repeated: false))
        #expect(try store.finish(id, epoch: e(1, 2), outcome: .completed(result: "A")) == .applied(current: e(1, 2), repeated: true))
        #expect(try store.finish(id, epoch: e(1, 2), outcome: .aborted(.invalidTask(detail: "no"))) == .rejected(current: e(1, 2), reason: .finished))
        let task = try #require(try store.getTask(id))
        #expect(task.status == .completed && task.result == "A")
        #expect(try store.getDocument(task.responseDocumentID!) == "A")
        #expect(try store.getDocument(task.requestDocumentID!) == "{}")
    }

    @Test("claims set owners and status; finished tasks refuse claims; the gateway abort fences everyone", arguments: StoreKind.allCases)
    func claimsAndAbort(kind: StoreKind) throws {
        guard let store = try kind.make()?.store else { return }
        let id = try store.createTask(userID: 1, taskType: "t", description: "d").taskID
        #expect(try store.getTask(id)?.status == .pending)
        _ = try store.claim(id, epoch: e(1, 0), region: "r1", proxy: "")
        #expect(try store.getTask(id)?.status == .pending)
        #expect(try store.unfinishedTasks(ownedBy: "r1").map(\.taskID) == [id])
        _ = try store.claim(id, epoch: e(1, 1), region: "r1", proxy: "p")
        #expect(try store.getTask(id)?.status == .running)
        // Moving to another region keeps the status running: statuses never go back.
        _ = try store.claim(id, epoch: e(2, 0), region: "r2", proxy: "")
        #expect(try store.getTask(id)?.status == .running)
        #expect(try store.unfinishedTasks(ownedBy: "r1").isEmpty)
        #expect(try store.abort(id, epoch: e(2, 0), cause: .noRegion(since: .zero)) == .rejected(current: e(2, 0), reason: .notNewer))
        #expect(try store.abort(id, epoch: e(3, 0), cause: .noRegion(since: .zero)) == .applied(current: e(3, 0), repeated: false))
        #expect(try store.claim(id, epoch: e(4, 0), region: "r1", proxy: "") == .rejected(current: e(3, 0), reason: .finished))
        #expect(try store.getTask(id)?.reason == AbortCause.noRegion(since: .zero).reason)
        #expect(try store.unfinishedTasks().isEmpty)
    }

    @Test("the seed's document, task and progress API works as documented", arguments: StoreKind.allCases)
    func seedAPI(kind: StoreKind) throws {
        guard let store = try kind.make()?.store else { return }
        let doc = try store.storeDocument(type: "query", content: "hello")
        #expect(try store.getDocument(doc) == "hello")
        #expect(try store.deleteDocument(doc))
        #expect(try store.getDocument(doc) == nil)
        let id = try store.createTask(userID: 9, taskType: "code_generation", description: "{\"x\":1}").taskID
        #expect(try store.getTask(id)?.userID == 9)
        #expect(try store.updateTaskType(id, type: "other"))
        #expect(try store.getTask(id)?.taskType == "other")
        _ = try store.claim(id, epoch: e(1, 1), region: "r", proxy: "p")
        _ = try store.saveProgress(id, node: "b", epoch: e(1, 1), result: "B", inputDigest: "ib")
        _ = try store.saveProgress(id, node: "a", epoch: e(1, 1), result: "A", inputDigest: "ia")
        #expect(try store.getProgressList(id).map(\.nodeID) == ["a", "b"])
        #expect(try store.getProgress(id, node: "b")?.epoch == e(1, 1))
        #expect(try store.deleteProgress(id, node: "b"))
        #expect(try store.getProgressList(id).count == 1)
        #expect(try store.deleteTask(id))
        #expect(try store.getTask(id) == nil)
        #expect(try store.claim(id, epoch: e(5, 0), region: "r", proxy: "") == .rejected(current: nil, reason: .noSuchTask))
    }

    @Test("values with quotes and SQL are stored verbatim (parameterised SQL only)", arguments: StoreKind.allCases)
    func sqlInjectionIsInert(kind: StoreKind) throws {
        guard let store = try kind.make()?.store else { return }
        let nasty = "x'); DROP TABLE Tasks; --"
        let id = try store.createTask(userID: 1, taskType: nasty, description: nasty).taskID
        #expect(try store.getTask(id)?.taskType == nasty)
        #expect(try store.allTasks().count == 1)
    }

    @Test("a store keeps every task across reopening (a restarted process)", arguments: [StoreKind.file, .postgres])
    func storeIsDurable(kind: StoreKind) throws {
        guard let made = try kind.make() else { return }
        var id: TaskID = 0
        do {
            let store = made.store
            id = try store.createTask(userID: 1, taskType: "t", description: "d").taskID
            _ = try store.claim(id, epoch: e(1, 1), region: "r", proxy: "p")
            _ = try store.saveProgress(id, node: "n", epoch: e(1, 1), result: "R", inputDigest: "i")
        }
        let reopened = try made.reopen()
        #expect(try reopened.getTask(id)?.epoch == e(1, 1))
        #expect(try reopened.getProgress(id, node: "n")?.result == "R")
    }

    @Test("concurrent claims of one epoch from four store connections: exactly one wins, the others are refused", arguments: [StoreKind.file, .postgres])
    func concurrentClaims(kind: StoreKind) throws {
        guard let made = try kind.make() else { return }
        let id = try made.store.createTask(userID: 1, taskType: "t", description: "d").taskID
        let stores = try (0..<4).map { _ in try made.reopen() }
        let (verdicts, errors) = concurrently(stores.count) { index in
            try stores[index].claim(id, epoch: e(1, 0), region: "region-\(index)", proxy: "")
        }
        #expect(errors.isEmpty, "a concurrent writer waits for the lock instead of failing: \(errors)")
        #expect(verdicts.filter { $0 == .applied(current: e(1, 0), repeated: false) }.count == 1, "\(verdicts)")
        #expect(verdicts.filter { $0 == .rejected(current: e(1, 0), reason: .notNewer) }.count == 3, "\(verdicts)")
        let winner = try made.store.getTask(id)?.ownerRegion ?? ""
        #expect(winner.hasPrefix("region-"))
    }

    @Test("concurrent first results for one node at one epoch: one is kept, the other is a conflict", arguments: [StoreKind.file, .postgres])
    func concurrentFirstResults(kind: StoreKind) throws {
        guard let made = try kind.make() else { return }
        let id = try made.store.createTask(userID: 1, taskType: "t", description: "d").taskID
        _ = try made.store.claim(id, epoch: e(1, 1), region: "r", proxy: "p#1")
        let stores = try (0..<2).map { _ in try made.reopen() }
        let (verdicts, errors) = concurrently(stores.count) { index in
            try stores[index].saveProgress(id, node: "n", epoch: e(1, 1), result: "R\(index)", inputDigest: "i")
        }
        #expect(errors.isEmpty, "\(errors)")
        #expect(verdicts.contains(.applied(current: e(1, 1), repeated: false)))
        #expect(verdicts.contains(.rejected(current: e(1, 1), reason: .conflict)), "\(verdicts)")
        #expect(try made.store.getProgressList(id).count == 1)
    }
}

/// Runs `write` on `count` threads at once and collects every verdict and every error.
func concurrently(_ count: Int, _ write: @Sendable (Int) throws -> WriteOutcome) -> (verdicts: [WriteOutcome], errors: [String]) {
    let lock = NSLock()
    nonisolated(unsafe) var verdicts: [WriteOutcome] = []
    nonisolated(unsafe) var errors: [String] = []
    DispatchQueue.concurrentPerform(iterations: count) { index in
        let verdict = Result { try write(index) }
        lock.lock()
        switch verdict {
        case .success(let outcome): verdicts.append(outcome)
        case .failure(let error): errors.append("\(error)")
        }
        lock.unlock()
    }
    return (verdicts, errors)
}

/// The SQLite store answers repeated reads from its cache; these say it never answers stale.
@Suite("TaskStore's read cache")
struct TaskStoreReadCacheTests {
    func temporaryPath() -> String {
        TemporaryStoreFiles.directory + "/cache-\(UInt64.random(in: 0...UInt64.max)).sqlite"
    }

    @Test("a poll after another connection's commit sees the commit, not the row it read before")
    func otherConnectionsCommitsAreSeen() throws {
        let path = temporaryPath()
        let reader = try TaskStore(path: path)
        let writer = try TaskStore(path: path)
        let id = try writer.createTask(userID: 1, taskType: "t", description: "d").taskID
        #expect(try reader.taskStatus(id) == .pending)
        #expect(try reader.unfinishedTasks(ownedBy: nil).map(\.taskID) == [id])
        #expect(try writer.claim(id, epoch: e(1, 1), region: "r", proxy: "p#1").isApplied)
        #expect(try reader.taskStatus(id) == .running(epoch: e(1, 1), saved: 0), "the other connection's claim")
        #expect(try reader.getTask(id)?.epoch == e(1, 1))
        #expect(try writer.saveProgress(id, node: "n", epoch: e(1, 1), result: "R", inputDigest: "i").isApplied)
        #expect(try reader.taskStatus(id) == .running(epoch: e(1, 1), saved: 1), "the other connection's saved node")
        #expect(try writer.finish(id, epoch: e(1, 1), outcome: .completed(result: "done")).isApplied)
        #expect(try reader.taskStatus(id) == .completed(result: "done"))
        #expect(try reader.unfinishedTasks(ownedBy: nil).isEmpty, "the finished task left the unfinished list")
    }

    enum Opening: CaseIterable { case memory, file, fileAsSoleConnection }

    @Test("the connection's own writes show in its next reads, with or without the check for other connections",
        arguments: Opening.allCases)
    func ownWritesAreSeen(opening: Opening) throws {
        let path = temporaryPath()
        let store: TaskStore
        switch opening {
        case .memory: store = try TaskStore()
        case .file: store = try TaskStore(path: path)
        case .fileAsSoleConnection: store = try TaskStore(path: path, soleConnection: true)
        }
        let first = try store.createTask(userID: 1, taskType: "t", description: "d").taskID
        #expect(try store.unfinishedTasks(ownedBy: nil).map(\.taskID) == [first])
        #expect(try store.unfinishedTasks(ownedBy: "r").isEmpty)
        let second = try store.createTask(userID: 1, taskType: "t", description: "d2").taskID
        #expect(try store.unfinishedTasks(ownedBy: nil).map(\.taskID) == [first, second], "a created task joins the list")
        #expect(try store.claim(first, epoch: e(1, 0), region: "r", proxy: "").isApplied)
        #expect(try store.unfinishedTasks(ownedBy: "r").map(\.taskID) == [first], "a claimed task joins its region's list")
        #expect(try store.claim(first, epoch: e(1, 1), region: "r", proxy: "p#1").isApplied)
        #expect(try store.taskStatus(first) == .running(epoch: e(1, 1), saved: 0))
        #expect(try store.saveProgress(first, node: "a", epoch: e(1, 1), result: "A", inputDigest: "i").isApplied)
        #expect(try store.taskStatus(first) == .running(epoch: e(1, 1), saved: 1), "a saved node counts at once")
        #expect(try store.deleteProgress(first, node: "a"))
        #expect(try store.taskStatus(first) == .running(epoch: e(1, 1), saved: 0), "a deleted node stops counting")
        #expect(try store.updateTaskType(first, type: "other"))
        #expect(try store.getTask(first)?.taskType == "other")
        #expect(try store.abort(second, epoch: e(5, 0), cause: .noRegion(since: .zero)).isApplied)
        guard case .aborted = try store.taskStatus(second) else {
            Issue.record("the aborted task reads as \(try store.taskStatus(second))")
            return
        }
        #expect(try store.unfinishedTasks(ownedBy: nil).map(\.taskID) == [first])
        #expect(try store.deleteTask(first))
        #expect(try store.taskStatus(first) == .nonExist, "a deleted task is gone")
        #expect(try store.unfinishedTasks(ownedBy: nil).isEmpty)
    }
}

/// The folder of the SQLite files the tests make (with their -wal and -shm files), removed
/// when the test process exits: a store reopened by a test outlives the test's scope.
enum TemporaryStoreFiles {
    static let directory: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-store-tests-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TemporaryStoreFiles.directory) }
        return path
    }()
}
