import Foundation
import Testing
@testable import Sim

@Suite("Traces, replay and determinism")
struct TraceTests {
    let config = GossipConfig(nodes: 6, tokensPerNode: 3, duration: .seconds(5))

    func makeRun(seed: UInt64, config: GossipConfig? = nil) throws -> Simulation<GossipWorld> {
        let config = config ?? self.config
        return try GossipRun.makeSimulation(
            seed: seed, config: config, faults: GossipRun.plannedFaults(seed: seed, config: config))
    }

    func record(seed: UInt64) throws -> (path: String, hash: String, events: UInt64) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(seed)-\(UInt64.random(in: 0...UInt64.max)).jsonl").path
        let simulation = try makeRun(seed: seed)
        let writer = try TraceWriter(
            path: path,
            header: GossipRun.header(seed: seed, config: config, network: simulation.network, faults: simulation.timeline),
            simulation: simulation)
        _ = GossipRun.drive(simulation, config: config)
        try writer.finish(simulation: simulation)
        return (path, simulation.fingerprintHex, simulation.eventCount)
    }

    @Test("the same seed gives the same events and hash; different seeds differ")
    func sameSeedSameRunDifferentSeedDifferentRun() throws {
        let report = try Determinism.runTwice(make: { try makeRun(seed: 21) }, drive: { _ = GossipRun.drive($0, config: config) })
        #expect(report.identical, "\(String(describing: report.divergence))")
        #expect(report.events > 1000)
        let other = try makeRun(seed: 22)
        _ = GossipRun.drive(other, config: config)
        #expect(other.fingerprintHex != report.firstHash)
    }

    @Test("the generated fault timeline contains every kind of fault and is seed-determined")
    func plannedFaultsCoverEveryKind() {
        let a = GossipRun.plannedFaults(seed: 4, config: config)
        #expect(a == GossipRun.plannedFaults(seed: 4, config: config))
        #expect(a != GossipRun.plannedFaults(seed: 5, config: config))
        let kinds = Set(a.map { String($0.action.summary.split(separator: " ")[0]) })
        #expect(kinds.isSuperset(of: ["crash", "restart", "pause", "resume", "partition", "heal", "clog", "unclog"]))
        #expect(zip(a, a.dropFirst()).allSatisfy { $0.at <= $1.at })
    }

    @Test("runTwice names the first event where a nondeterministic world diverges")
    func runTwiceFindsTheFirstDivergence() throws {
        final class Counter: @unchecked Sendable { var runs = 0 }
        let counter = Counter()
        // The second build's node 0 sends a different value: an injected nondeterminism.
        let report = try Determinism.runTwice(
            make: {
                counter.runs += 1
                let value = counter.runs == 1 ? 1 : 2
                return try echoSimulation(nodes: [{ $0.sendsOnStart = [(1, 0), (1, value)] }, { _ in }])
            }, drive: { $0.runUntilQuiescent() })
        #expect(!report.identical)
        let divergence = try #require(report.divergence)
        #expect(divergence.index == 3)  // start, observe, send 0, then the differing send
        #expect(divergence.expected?.contains("\"value\":1") == true)
        #expect(divergence.actual?.contains("\"value\":2") == true)
    }

    @Test("a recorded trace replays as identical")
    func recordedTraceReplaysIdentical() throws {
        let recorded = try record(seed: 31)
        defer { try? FileManager.default.removeItem(atPath: recorded.path) }
        let trace = try RecordedTrace.load(path: recorded.path)
        #expect(trace.footer.hash == recorded.hash)
        #expect(trace.eventLines.count == Int(recorded.events))
        let report = try GossipRun.replay(trace)
        #expect(report.identical)
        #expect(report.replayedHash == recorded.hash)
        #expect(report.divergence == nil)
    }

    @Test("a trace of the old hash format replays event by event; a wrong hash of today's format is a divergence")
    func olderHashFormatComparesEventsOnly() throws {
        let recorded = try record(seed: 34)
        defer { try? FileManager.default.removeItem(atPath: recorded.path) }
        let text = try String(contentsOfFile: recorded.path, encoding: .utf8)
        let otherHash = "0x0123456789abcdef"
        let edited = text.replacingOccurrences(of: recorded.hash, with: otherHash)
        // Version 1 hashed with FNV-1a: its end-line hash cannot be compared, the events can.
        let old = try RecordedTrace.parse(edited.replacingOccurrences(of: "\"version\":2", with: "\"version\":1"))
        #expect(!old.hashComparable)
        let oldReport = try GossipRun.replay(old)
        #expect(oldReport.identical && !oldReport.hashCompared)
        #expect(oldReport.recordedHash == otherHash && oldReport.replayedHash == recorded.hash)
        // The same edit in a trace of today's format is caught by the hash.
        let current = try RecordedTrace.parse(edited)
        let currentReport = try GossipRun.replay(current)
        #expect(!currentReport.identical && currentReport.hashCompared && currentReport.divergence == nil)
    }

    @Test("the trace hash separates fields, order and string boundaries")
    func traceHasherSeparates() {
        func hash(_ feed: (inout TraceHash) -> Void) -> UInt64 { var h = TraceHash(); feed(&h); return h.value }
        #expect(hash { $0.combine(1 as UInt64); $0.combine(2 as UInt64) } != hash { $0.combine(2 as UInt64); $0.combine(1 as UInt64) })
        #expect(hash { $0.combine("ab"); $0.combine("c") } != hash { $0.combine("a"); $0.combine("bc") })
        #expect(hash { $0.combine("a") } != hash { $0.combine("a\u{0}") })
        #expect(hash { $0.combine("0123456789") } != hash { $0.combine("0123456789a") })
        // Fixed values: the format is part of every recorded trace.
        #expect(TraceHash().value == 0x6A09_E667_F3BC_C908)
        #expect(hash { $0.combine("foobar") } == 0x6072_7708_D250_679C)
        #expect(hash { $0.combine(0 as UInt64) } != TraceHash().value)
    }

    @Test("a trace edited at one event reports that event as the first divergence")
    func perturbedTraceReportsFirstDivergence() throws {
        let recorded = try record(seed: 32)
        defer { try? FileManager.default.removeItem(atPath: recorded.path) }
        var lines = try String(contentsOfFile: recorded.path, encoding: .utf8).split(separator: "\n").map(String.init)
        // Line 0 is the header; event k is line k+1. Change the payload of a send late in the run.
        let target = lines.indices.last { $0 > lines.count / 2 && lines[$0].contains("\"k\":\"send\"") }!
        lines[target] = lines[target].replacingOccurrences(of: "\"hop\":", with: "\"hop\":9")
        let trace = try RecordedTrace.parse(lines.joined(separator: "\n") + "\n")
        let report = try GossipRun.replay(trace)
        #expect(!report.identical)
        let divergence = try #require(report.divergence)
        #expect(divergence.index == UInt64(target - 1))
        #expect(divergence.expected == lines[target])
        #expect(divergence.actual != nil && divergence.actual != lines[target])
        // The replay stops at the end of the step that diverged, long before the recorded end.
        #expect(report.replayedEvents >= UInt64(target) && report.replayedEvents < UInt64(target) + 16)
        #expect(report.replayedEvents < report.recordedEvents)
    }

    @Test("a replay whose world behaves differently reports the first divergence")
    func perturbedWorldReportsFirstDivergence() throws {
        let recorded = try record(seed: 33)
        defer { try? FileManager.default.removeItem(atPath: recorded.path) }
        let trace = try RecordedTrace.load(path: recorded.path)
        let header = try trace.header(as: GossipConfig.self)
        var perturbed = header.config
        perturbed.tickInterval = .milliseconds(101)
        let simulation = try GossipRun.makeSimulation(seed: 33, config: perturbed, network: header.network, faults: header.faults)
        let report = TraceReplay.compare(trace, simulation: simulation) { _ = GossipRun.drive($0, config: perturbed) }
        #expect(!report.identical)
        let divergence = try #require(report.divergence)
        #expect(divergence.expected?.contains("\"k\":\"timer\"") == true || divergence.actual?.contains("\"k\":\"timer\"") == true)
    }

    @Test("large seeds survive the trace header exactly")
    func largeSeedRoundTrips() throws {
        let header = GossipRun.header(seed: UInt64.max - 1, config: config, network: NetworkConfig(), faults: [])
        let line = String(decoding: try JSONEncoder().encode(header), as: UTF8.self)
        let trace = try RecordedTrace.parse(line + "\n{\"end\":true,\"events\":0,\"steps\":0,\"time\":0,\"hash\":\"0x0\"}\n")
        #expect(try trace.header(as: GossipConfig.self).seedValue == UInt64.max - 1)
    }
}

@Suite("Bad trace files")
struct BadTraceTests {
    let footer = "{\"end\":true,\"events\":0,\"steps\":0,\"time\":0,\"hash\":\"0x0\"}"

    func header(version: Int = 1, format: String = "agentos-sim-trace", config: String = "{\"nodes\":2}") -> String {
        "{\"format\":\"\(format)\",\"version\":\(version),\"world\":\"kernel-demo\",\"seed\":\"1\",\"network\":{\"defaultLink\":{\"latency\":{\"min\":1,\"typical\":2,\"tail\":3,\"tailChance\":[0,1]},\"dropChance\":[0,1],\"duplicateChance\":[0,1]},\"overrides\":[]},\"faults\":[],\"config\":\(config)}"
    }

    @Test("an empty file, a non-JSON header and a foreign format are rejected")
    func unusableHeaders() {
        #expect(throws: TraceFileError.empty(path: "<memory>")) { try RecordedTrace.parse("") }
        #expect(throws: TraceFileError.self) { try RecordedTrace.parse("not json\n") }
        #expect(throws: TraceFileError.notATrace(format: "other")) {
            try RecordedTrace.parse(header(format: "other") + "\n" + footer)
        }
    }

    @Test("an unknown format version is rejected with both versions named")
    func unknownVersion() {
        #expect(throws: TraceFileError.unsupportedVersion(found: 99, supported: 2)) {
            try RecordedTrace.parse(header(version: 99) + "\n" + footer)
        }
    }

    @Test("a trace cut short has no end line and reads as truncated")
    func truncatedTrace() {
        let event = "{\"i\":0,\"inc\":1,\"k\":\"start\",\"node\":\"n0\",\"t\":0}"
        #expect(throws: TraceFileError.truncated(eventsRead: 1)) { try RecordedTrace.parse(header() + "\n" + event + "\n") }
        #expect(throws: TraceFileError.self) { try RecordedTrace.parse(header() + "\n" + "{\"i\":0,\"k\":\"st") }
    }

    @Test("events out of order, garbage lines and a lying end line are rejected with the line number")
    func malformedEvents() {
        #expect(throws: TraceFileError.malformedEvent(line: 2, reason: "index 5, expected 0")) {
            try RecordedTrace.parse(header() + "\n{\"i\":5,\"k\":\"start\",\"t\":0}\n" + footer)
        }
        #expect(throws: TraceFileError.self) { try RecordedTrace.parse(header() + "\n[1,2]\n" + footer) }
        #expect(throws: TraceFileError.footerMismatch(reason: "it counts 0 events, the file holds 1")) {
            try RecordedTrace.parse(header() + "\n{\"i\":0,\"k\":\"start\",\"t\":0}\n" + footer)
        }
    }

    @Test("a configuration that does not parse or cannot run is reported, not crashed on")
    func badConfiguration() throws {
        let missingFields = try RecordedTrace.parse(header() + "\n" + footer)
        #expect(throws: TraceFileError.self) { try GossipRun.replay(missingFields) }
        let config = "{\"nodes\":1,\"tokensPerNode\":1,\"tickInterval\":1,\"duration\":1,\"livenessBudget\":1,\"faults\":{\"oneWayPartitionChance\":[0,1]}}"
        let invalid = try RecordedTrace.parse(header(config: config) + "\n" + footer)
        #expect(throws: TraceFileError.configDoesNotParse(reason: "nodes must be at least 2 (got 1)")) {
            try GossipRun.replay(invalid)
        }
    }

    @Test("a missing file is a clear error")
    func missingFile() {
        #expect(throws: TraceFileError.cannotRead(path: "/nonexistent/t.jsonl", reason: "no such file")) {
            try RecordedTrace.load(path: "/nonexistent/t.jsonl")
        }
    }
}
