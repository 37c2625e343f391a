import Checks
import Foundation
import Scenarios
import Testing

/// `agentos explore-merge`: shard summaries into one verdict, with the coverage checked.
@Suite("agentos explore-merge")
struct ExploreMergeTests {
    /// Runs `explore` over the smoke scenario with the given flags; returns the summary file.
    func shard(_ folder: String, _ name: String, _ flags: [String], junit: Bool = false) throws -> String {
        var arguments = ["explore", "--scenario", "smoke", "--json", "--traces", folder] + flags
        if junit { arguments += ["--junit", "\(folder)/\(name).xml"] }
        let result = try CLI.run(arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let path = "\(folder)/\(name).json"
        try result.stdout.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("merge-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("three shards of one range merge into one passing verdict, and their JUnit reports into one")
    func shardsMerge() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try (0..<3).map { try shard(dir, "s\($0)", ["--seeds", "7", "--start", "10", "--shard", "\($0)/3"], junit: true) }
        let result = try CLI.run(["explore-merge", "--json", "--junit-out", "\(dir)/all.xml"] + files + files.flatMap { ["--junit", $0.replacingOccurrences(of: ".json", with: ".xml")] })
        #expect(result.status == 0, "\(result.stderr)")
        let merged = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(merged["seeds"] as? Int == 7 && merged["start"] as? Int == 10 && merged["passed"] as? Int == 7 && merged["shards"] as? Int == 3)
        let xml = try String(contentsOfFile: "\(dir)/all.xml", encoding: .utf8)
        #expect(xml.contains("tests=\"\(7 * Invariant.allCases.count)\"") && xml.contains("smoke.seed-16"), "seven seeds, every checker each")
    }

    @Test("adjacent ranges explored without sharding merge too")
    func adjacentRanges() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try shard(dir, "a", ["--seeds", "3", "--start", "1"])
        let second = try shard(dir, "b", ["--seeds", "2", "--start", "4"])
        #expect(try CLI.run(["explore-merge", first, second]).status == 0)
    }

    @Test("an overlapping shard, a missing shard, mixed scenarios and a non-summary are refused with exit status 2 and named")
    func badShards() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try (0..<2).map { try shard(dir, "s\($0)", ["--seeds", "6", "--shard", "\($0)/2"]) }
        let overlap = try CLI.run(["explore-merge", files[0], files[0], files[1]])
        #expect(overlap.status == 2 && overlap.stderr.contains("overlapping shards"), "\(overlap.stderr)")
        let missing = try CLI.run(["explore-merge", files[0]])
        #expect(missing.status == 2 && missing.stderr.contains("missing shards"), "\(missing.stderr)")
        let other = try CLI.run(["explore", "--scenario", "proxy-crash", "--seeds", "1", "--json", "--traces", dir])
        try other.stdout.write(toFile: "\(dir)/other.json", atomically: true, encoding: .utf8)
        let mixed = try CLI.run(["explore-merge", files[0], files[1], "\(dir)/other.json"])
        #expect(mixed.status == 2 && mixed.stderr.contains("different scenarios"), "\(mixed.stderr)")
        try "{}".write(toFile: "\(dir)/bad.json", atomically: true, encoding: .utf8)
        #expect(try CLI.run(["explore-merge", "\(dir)/bad.json"]).status == 2)
    }
}
