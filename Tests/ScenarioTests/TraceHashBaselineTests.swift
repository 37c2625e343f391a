import Foundation
import Scenarios
import Sim
import Testing

/// The trace hashes recorded before the package was re-cut (issue 25): moving code must not
/// change what any run does. Seeds 1-5 of every named scenario and every `traces/` file run by
/// default; `AGENTOS_HASH_BASELINE=full` (as `.ci/run` sets it) runs all 25 recorded seeds.
/// A change of behaviour re-records the file on purpose:
/// `AGENTOS_HASH_BASELINE=record swift test --skip-build --filter TraceHashBaseline`, and its
/// commit says why the hashes moved.
@Suite("Trace hashes stay as recorded")
struct TraceHashBaselineTests {
    struct Recorded {
        var scenarios: [String: [(seed: UInt64, hash: String)]] = [:]
        var traces: [String: String] = [:]
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    static func recorded() throws -> Recorded {
        let text = try String(contentsOf: directory.appendingPathComponent("Baselines/trace-hashes.txt"), encoding: .utf8)
        var recorded = Recorded()
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ").map(String.init)
            precondition(fields.count == 3, "a baseline line has three fields, got '\(line)'")
            if fields[0] == "trace" {
                recorded.traces[fields[1]] = fields[2]
            } else {
                recorded.scenarios[fields[0], default: []].append((UInt64(fields[1])!, fields[2]))
            }
        }
        return recorded
    }

    static var seedsMax: UInt64 { ProcessInfo.processInfo.environment["AGENTOS_HASH_BASELINE"] == "full" ? 25 : 5 }

    @Test("every named scenario was recorded")
    func everyScenarioRecorded() throws {
        #expect(Set(try Self.recorded().scenarios.keys) == Set(ScenarioLibrary.names))
    }

    @Test("a named scenario's seeds hash as recorded", arguments: ScenarioLibrary.names)
    func scenarioHashes(name: String) throws {
        let recorded = try #require(
            try Self.recorded().scenarios[name], "no baseline for \(name): record one with AGENTOS_HASH_BASELINE=record")
        #expect(recorded.count == 25)
        for (seed, hash) in recorded where seed <= Self.seedsMax {
            let report = try ScenarioRun(scenario: try ScenarioLibrary.scenario(named: name, seed: seed), seed: seed).execute()
            #expect(report.hash == hash, "\(name) seed \(seed): \(report.hash), recorded \(hash)")
        }
    }

    @Test("every trace in traces/ replays to its recorded hash")
    func traceHashes() throws {
        let recorded = try Self.recorded().traces
        let folder = Self.directory.appendingPathComponent("../../traces").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".jsonl") }.sorted()
        #expect(Set(files) == Set(recorded.keys), "traces/ and the baseline list the same files")
        for file in files {
            let report = try ScenarioReplay.rerun(try RecordedTrace.load(path: folder.appendingPathComponent(file).path))
            #expect(report.hash == recorded[file], "\(file): \(report.hash), recorded \(recorded[file] ?? "-")")
        }
    }

    /// Writes the baseline from today's code (only with `AGENTOS_HASH_BASELINE=record`).
    @Test("recording the baseline writes every named scenario's seeds 1-25 and every trace",
          .enabled(if: ProcessInfo.processInfo.environment["AGENTOS_HASH_BASELINE"] == "record"))
    func record() throws {
        var lines = [
            "# Trace hashes: scenario seed hash, then trace file hash (of its replay).",
            "# A move of code must leave every line as it is; a change of behaviour re-records this file and says why in its commit.",
        ]
        for name in ScenarioLibrary.names {
            for seed in UInt64(1)...25 {
                let report = try ScenarioRun(scenario: try ScenarioLibrary.scenario(named: name, seed: seed), seed: seed).execute()
                lines.append("\(name) \(seed) \(report.hash)")
            }
        }
        let folder = Self.directory.appendingPathComponent("../../traces").standardized
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path).filter({ $0.hasSuffix(".jsonl") }).sorted() {
            let report = try ScenarioReplay.rerun(try RecordedTrace.load(path: folder.appendingPathComponent(file).path))
            lines.append("trace \(file) \(report.hash)")
        }
        try (lines.joined(separator: "\n") + "\n").write(to: Self.directory.appendingPathComponent("Baselines/trace-hashes.txt"), atomically: true, encoding: .utf8)
    }
}
