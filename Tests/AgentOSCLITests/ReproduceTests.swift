import Foundation
import Testing

/// `agentos reproduce`: the reference's experiments, simulated and set side by side.
@Suite("agentos reproduce")
struct ReproduceTests {
    /// The repository's experiment files, wherever the tests run from.
    static let experiments = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("reproduce").path

    @Test("one experiment over one seed: the JSON rows carry both sides and their ratios, and --plot writes its SVG chart")
    func votingTable() throws {
        let plots = FileManager.default.temporaryDirectory.appendingPathComponent("plots-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: plots) }
        let result = try CLI.run(["reproduce", "--experiments", Self.experiments, "--table", "voting", "--seeds", "1", "--json", "--plot", plots])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let rows = try #require(report["rows"] as? [[String: Any]])
        #expect(rows.map { $0["row"] as? String } == ["naive", "early_majority"])
        for key in ["experiment", "row", "referenceMean", "simulatedMean", "simulatedSpread", "referenceRatio", "simulatedRatio"] {
            #expect(rows.allSatisfy { $0[key] != nil }, "every row has \(key)")
        }
        #expect(rows[0]["referenceRatio"] as? Double == 1 && rows[0]["simulatedRatio"] as? Double == 1, "the baseline row is its own reference")
        #expect((rows[1]["simulatedMean"] as? Double ?? 0) > 10, "the simulated tasks took tens of seconds")
        #expect(rows[1]["confounded"] as? Bool == true, "the reference never ran early majority")
        let published = try #require(report["published"] as? [String: Any])
        #expect(published["rows"] as? Int == 0, "a confounded row is not counted")
        let svg = try String(contentsOfFile: plots + "/voting.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("early_majority"))
        #expect(svg.hasSuffix("</svg>\n") && svg.components(separatedBy: "<rect").count == 1 + 1 + 2 + 2 * 2, "background, legend, two bars per row")
    }

    @Test("three seeds: every counted ratio has a 95 % bootstrap interval around it, and the fitted rows are not counted")
    func intervals() throws {
        let result = try CLI.run(["reproduce", "--experiments", Self.experiments, "--table", "scaling", "--seeds", "3", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let rows = try #require(report["rows"] as? [[String: Any]])
        for row in rows where row["baseline"] as? Bool == false {
            let low = try #require(row["simulatedRatioLow"] as? Double), high = try #require(row["simulatedRatioHigh"] as? Double)
            let ratio = try #require(row["simulatedRatio"] as? Double)
            #expect(low <= ratio && ratio <= high, "\(row["row"] ?? "")")
        }
        #expect(rows.filter { $0["fitted"] as? Bool == true }.map { $0["row"] as? String } == ["1 proxy", "4 proxies"])
        let published = try #require(report["published"] as? [String: Any])
        #expect(published["rows"] as? Int == 2, "2 and 3 proxies are the counted rows")
        let table = try #require((report["tables"] as? [[String: Any]])?.first)
        #expect((table["orderings"] as? [[String: Any]])?.count == 5, "1 > 2 > 3, 4 proxies: five pairs apart by more than 10 %")
    }

    @Test("an experiment row with an unknown field is refused with exit status 2, naming the field")
    func unknownRowField() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("experiments-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = #"{"experiment": "x", "base": "smoke", "rows": [{"row": "a", "referenceMean": 1, "fited": true}]}"#
        try file.write(toFile: folder + "/x.json", atomically: true, encoding: .utf8)
        let result = try CLI.run(["reproduce", "--experiments", folder, "--seeds", "1"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("fited"), "\(result.stderr)")
    }

    @Test("an unknown experiment, a missing folder and a bad seed count are refused with exit status 2")
    func badInput() throws {
        for arguments in [["--table", "nope"], ["--experiments", "/nonexistent"], ["--seeds", "0"]] {
            let result = try CLI.run(["reproduce", "--experiments", Self.experiments] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(!result.stderr.isEmpty)
        }
    }
}
