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
        let svg = try String(contentsOfFile: plots + "/voting.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("early_majority"))
        #expect(svg.hasSuffix("</svg>\n") && svg.components(separatedBy: "<rect").count == 1 + 1 + 2 + 2 * 2, "background, legend, two bars per row")
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
