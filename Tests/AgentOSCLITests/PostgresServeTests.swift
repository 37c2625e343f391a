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

    @Test("an outage of the PostgreSQL connection mid-run: the serve log says once that the store is failing and once that it answers again, and the task completes")
    func outageIsLogged() async throws {
        guard let url = try database() else { return }
        let port = freeTestPort()
        let base = "http://127.0.0.1:\(port)"
        let data = CLI.temporaryPath("pg-outage")
        let log = CLI.temporaryPath("pg-outage-log")
        defer { for path in [data, log] { try? FileManager.default.removeItem(atPath: path) } }
        let server = try ChildServer(
            ["serve", "--port", String(port), "--store", url, "--data-dir", data, "--speedup", "20"], readyMarker: "agentos serving", stderrPath: log)
        let (status, body) = try await http("POST", "\(base)/query", query)
        let task = try #require(body["task_id"] as? Int, "\(status) \(body)")
        // The outage: the database refuses new connections and the server cuts the store's one,
        // for two seconds; then it lets them in again. (Run from the server's default database,
        // since the test's own refuses connections meanwhile.)
        let database = try #require(URLComponents(string: url)?.path.dropFirst().description)
        var admin = try #require(URLComponents(string: url))
        admin.path = "/postgres"
        func sql(_ statement: String) throws -> CLIResult {
            try CLI.run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["psql", admin.string ?? "", "-Atc", statement])
        }
        let closed = try sql(#"alter database "\#(database)" with allow_connections false"#)
        #expect(closed.status == 0, "\(closed.stderr)")
        let cut = try sql("select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = '\(database)'")
        #expect(cut.status == 0 && (Int(cut.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 1, "\(cut.stdout) \(cut.stderr)")
        try await Task.sleep(for: .seconds(2))
        let opened = try sql(#"alter database "\#(database)" with allow_connections true"#)
        #expect(opened.status == 0, "\(opened.stderr)")
        let final = try await waitFinal(base, task: task, seconds: 90)
        #expect(final["status"] as? String == "completed", "\(final)")
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let failing = text.components(separatedBy: "the PostgreSQL store is failing").count - 1
        let recovered = text.components(separatedBy: "the PostgreSQL store answers again").count - 1
        #expect(failing == 1 && recovered == 1, "one line for the outage, one for the recovery:\n\(text.suffix(3000))")
        _ = server
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
