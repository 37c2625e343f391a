import Foundation
import Testing

/// `agentos crash-table --postgres` on a real server of its own (a throwaway cluster on a port
/// no other test uses, since the table kills it over and over): every statement of a finish and
/// a status read after a restart, killed before and after, and nothing acknowledged lost.
@Suite("agentos crash-table on PostgreSQL")
struct PostgresCrashTableTests {
    /// Runs a shell command to its end with `waitpid` (a server it starts outlives it).
    static func shell(_ command: String) -> Int32 {
        var pid: pid_t = 0
        let words: [String] = ["/bin/sh", "-c", command]
        var argv = words.map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status >> 8) & 0xff
    }

    @Test("killing the server at every statement of a finish and of a status read after a restart loses nothing acknowledged")
    func killsAtEveryStatement() throws {
        let servers = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard !servers.isEmpty else {
            print("SKIPPED: no PostgreSQL server binaries under /usr/lib/postgresql (install postgresql)")
            return
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let directory = CLI.temporaryPath("pg-crash")
        let port = 54341
        let script = "\(root)/scripts/postgres-test-server"
        defer { _ = Self.shell("AGENTOS_TEST_POSTGRES_PORT=\(port) '\(script)' stop '\(directory)' >/dev/null 2>&1") }
        let started = Self.shell("AGENTOS_TEST_POSTGRES_PORT=\(port) '\(script)' start '\(directory)' > '\(directory).url' 2>&1")
        let url = (try? String(contentsOfFile: directory + ".url", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        try? FileManager.default.removeItem(atPath: directory + ".url")
        try #require(started == 0, "the throwaway server did not start: \(url)")
        let result = try CLI.run([
            "crash-table", "--postgres", url, "--postgres-data", directory + "/data", "--operations", "finish,status-after-restart", "--json",
        ])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let rows = try #require(report["rows"] as? [[String: Any]])
        let outcomes = rows.map { $0["outcome"] as? String }
        // A finish is BEGIN, the row locked, the result document, the update, COMMIT: five
        // statements, each killed before and after, then after the reply; the read is one.
        #expect(rows.filter { $0["operation"] as? String == "finish" }.count == 11)
        #expect(rows.filter { $0["operation"] as? String == "status-after-restart" }.count == 3)
        #expect(!outcomes.contains(nil))
        #expect(!outcomes.contains("acknowledged, lost"))
        #expect(outcomes.contains("re-executed") && outcomes.contains("acknowledged, kept"))
    }

    @Test("--postgres without --postgres-data, or with a folder that is no data directory, is refused with exit status 2")
    func refusesAnIncompleteServer() throws {
        let alone = try CLI.run(["crash-table", "--postgres", "postgres://agentos@127.0.0.1:1/x"])
        #expect(alone.status == 2)
        #expect(alone.stderr.contains("--postgres-data"))
        let notData = try CLI.run(["crash-table", "--postgres", "postgres://agentos@127.0.0.1:1/x", "--postgres-data", "/tmp"])
        #expect(notData.status == 2, "\(notData.stderr)")
        #expect(notData.stderr.contains("not a PostgreSQL data directory"))
    }
}
