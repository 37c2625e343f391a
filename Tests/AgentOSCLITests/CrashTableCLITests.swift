import Foundation
import Testing

@Suite("agentos crash-table")
struct CrashTableCLITests {
    @Test("crash-table refuses bad settings, unknown operations and bad counts with exit status 2 and a line naming the flag")
    func refusesBadInput() throws {
        for (arguments, named) in [
            (["--settings", "journal=MEMORY"], "journal"), (["--settings", "synchronous"], "KEY=VALUE"), (["--settings", "cache=big"], "unknown key"),
            (["--operations", "create,vacuum"], "vacuum"), (["--jobs", "0"], "--jobs"), (["--scenario", "no-such-scenario"], "no-such-scenario"),
        ] {
            let result = try CLI.run(["crash-table"] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.stdout)\(result.stderr)")
            #expect(result.stderr.contains(named), "\(arguments): \(result.stderr)")
        }
    }

    @Test("crash-table of one operation kind prints its rows and a passing verdict; with synchronous=OFF it exits 1 naming the losses")
    func tableAndItsVerdict() throws {
        let shipped = try CLI.run(["crash-table", "--operations", "finish"])
        #expect(shipped.status == 0, "\(shipped.stdout)\(shipped.stderr)")
        #expect(shipped.stdout.contains("after the reply         power loss  acknowledged, kept"))
        #expect(shipped.stdout.contains("PASS: no acknowledged write lost"))
        let unsafe = try CLI.run(["crash-table", "--operations", "finish", "--settings", "synchronous=OFF", "--json"])
        #expect(unsafe.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(unsafe.stdout.utf8)) as? [String: Any])
        let rows = try #require(report["rows"] as? [[String: Any]])
        #expect(rows.contains { $0["outcome"] as? String == "acknowledged, lost" })
    }
}
