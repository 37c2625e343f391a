import Foundation
import Testing

@Suite("agentos bench kernel --peers")
struct BenchPeersTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("the kernel benchmark runs the bare C heap on the same workload and reports both rates; SimPy runs or says why not")
    func peersRun() throws {
        let result = try CLI.run([
            "bench", "kernel", "--peers", "--peers-dir", Self.root + "/Benchmarks/Peers", "--steps", "20000", "--nodes", "8", "--tokens", "4", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
        #expect((report["ours"] as? Double ?? 0) > 0)
        let peers = try #require(report["peers"] as? [[String: Any]])
        #expect(peers.map { $0["peer"] as? String } == ["bare C heap", "SimPy"])
        for peer in peers {
            #expect(peer["deliveriesPerSecond"] as? Double ?? 0 > 0 || peer["note"] is String, "a rate, or why not: \(peer)")
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/cc") {
            #expect(peers[0]["deliveriesPerSecond"] as? Double ?? 0 > 1_000_000, "a bare heap does millions a second")
        }
    }

    @Test("a folder without the peer programs is refused with exit status 2")
    func missingPeers() throws {
        let result = try CLI.run(["bench", "kernel", "--peers", "--peers-dir", "/nonexistent", "--steps", "100"])
        #expect(result.status == 2, "\(result.stderr)")
    }
}
