import Foundation
import PostgresStore
import Testing

/// `agentos serve --store postgres://...`: the seed's API on the PostgreSQL store. Runs against
/// the server `AGENTOS_TEST_POSTGRES_URL` names (`.ci/run` starts one); says so when it cannot.
@Suite("agentos serve on a PostgreSQL store", .serialized)
struct PostgresServeTests {
    /// A database of its own on the test server, or nil (with a visible message) without one.
    func database() throws -> String? {
        guard let base = ProcessInfo.processInfo.environment["AGENTOS_TEST_POSTGRES_URL"] else {
            print("SKIPPED on PostgreSQL: AGENTOS_TEST_POSTGRES_URL is not set (start a server with scripts/postgres-test-server start DIR)")
            return nil
        }
        return try PostgresTaskStore.createDatabase("serve_test_\(UInt64.random(in: 0...UInt64.max))", beside: base)
    }

    @Test("a task submitted over the seed API completes; after a SIGKILL of the serving process a restart answers it completed from the database")
    func completesAndSurvivesSIGKILL() async throws {
        guard let url = try database() else { return }
        let port = freeTestPort()
        let base = "http://127.0.0.1:\(port)"
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("pg-serve-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let arguments = ["serve", "--port", String(port), "--store", url, "--data-dir", data, "--speedup", "20"]
        var server: ChildServer? = try ChildServer(arguments, readyMarker: "agentos serving")
        let (status, body) = try await http("POST", "\(base)/query", query)
        #expect(status == 200, "\(body)")
        let task = try #require(body["task_id"] as? Int)
        server?.kill()  // mid-run, whatever it was doing
        server = nil
        server = try ChildServer(arguments, readyMarker: "agentos serving")
        let final = try await waitFinal(base, task: task, seconds: 90)
        #expect(final["status"] as? String == "completed", "\(final)")
        #expect(!FileManager.default.fileExists(atPath: data + "/agentos.sqlite"), "no SQLite file: the tasks live in PostgreSQL")
        let store = try PostgresTaskStore(url: url)
        #expect(try store.getTask(Int64(task))?.status == .completed)
        #expect(try store.allTasks().count == 1, "one row: the restart created nothing twice")
        _ = server
    }

    @Test("cluster-test on the PostgreSQL store: SIGKILLs of the process that talks to it lose no acknowledged task, and every checker passes")
    func clusterTestOnPostgres() throws {
        guard let url = try database() else { return }
        let result = try CLI.run([
            "cluster-test", "--json", "--store", url, "--duration", "12", "--requests", "5", "--faults", "kill-a", "--fault-gap", "2-3", "--seed", "2",
        ])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stderr)")
        #expect(result.status == 0, "\(report["violations"] ?? "")")
        #expect((report["faults"] as? [String])?.isEmpty == false, "the store's process was killed")
        #expect(report["taskRows"] as? Int == 15 && report["acknowledged"] as? Int == 15, "every acknowledged task is a row in PostgreSQL")
        #expect((report["network"] as? String)?.contains("loopback") == true)
        if result.status == 0, let folder = report["folder"] as? String { try? FileManager.default.removeItem(atPath: folder) }
    }

    @Test("a store that cannot be reached at start-up: one line naming the URL without its password, and exit status 2")
    func unreachableStore() throws {
        let result = try CLI.run(["serve", "--port", "0", "--store", "postgres://agentos:hunter2secret@127.0.0.1:1/none?sslmode=disable"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot reach the PostgreSQL store at postgres://agentos:***@127.0.0.1:1/none"), "\(result.stderr)")
        #expect(!result.stderr.contains("hunter2secret"), "the password never appears")
        let bad = try CLI.run(["serve", "--store", "mysql://agentos:hunter2secret@db/x"])
        #expect(bad.status == 2 && !bad.stderr.contains("hunter2secret"), "\(bad.stderr)")
    }
}
