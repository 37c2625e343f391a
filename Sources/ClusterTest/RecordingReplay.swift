import Checks
import Core
import FakeLLM
import Foundation
import Scenarios
import Server
import Sim

/// `agentos replay-real DIR`: a recorded cluster test (`ClusterRecording`) as a simulator
/// scenario. The topology is the recorded cluster's; each client sends exactly the queries it
/// sent, at the moments it sent them; the fake LLM is the one the cluster ran (its answers and
/// latencies can come from the recorded calls instead, a cassette); the faults strike the nodes
/// of the process they struck, at their times. Real seconds become virtual seconds times the
/// run's speedup, the clock the cluster's roles ran on.
public struct RealRunReplay: Sendable {
    public let scenario: Scenario
    /// The recorded calls, for a cassette.
    public let cassetteEntries: [CassetteEntry]
    public let summary: ClusterRecording.Summary
    /// When the real run started, healed and ended, its clients and speedup.
    public let facts: ClusterRunFacts
    /// Faults the simulator has no counterpart for, with why.
    public let notReplayed: [String]
    /// How each real fault was replayed, in a line each.
    public let replayedFaults: [String]

    /// Reads the recording in `directory`.
    public static func load(_ directory: String) throws -> RealRunReplay {
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        func read<T: Decodable>(_ type: T.Type, _ name: String, _ what: String) throws -> T {
            guard let data = FileManager.default.contents(atPath: path(name)) else {
                throw ClusterTestError(
                    "\(directory) is not a cluster-test recording: no \(name) (\(what)); record one with `agentos cluster-test --record DIR`")
            }
            do { return try JSONDecoder().decode(T.self, from: data) } catch {
                throw ClusterTestError("\(path(name)): not a valid \(what): \(CassetteFiles.shortDecodingError(error))")
            }
        }
        let summary = try read(ClusterRecording.Summary.self, ClusterRecording.runFileName, "recording summary")
        let facts = try read(ClusterRunFacts.self, ClusterRunFacts.fileName, "run facts")
        let layout = try read(ClusterLayout.self, "cluster.json", "cluster layout")
        let llm = try read(FakeLLMConfig.self, "llm.json", "fake LLM configuration")
        let speedup = facts.speedup
        /// Virtual time of a wall-clock instant of the run.
        func virtual(_ wall: Int64) -> Instant { .nanoseconds(max(0, wall - facts.start) * speedup) }
        func virtual(seconds: Double) -> Interval { .nanoseconds(Int64(seconds * 1e9) * speedup) }

        // The clients: every first submit, as it was sent.
        var requests: [RecordedRequest] = []
        for (number, line) in try lines(path(ClusterUnderTest.clientsFileName)).enumerated() {
            let entry: ClientRecorder.Entry
            do { entry = try JSONDecoder().decode(ClientRecorder.Entry.self, from: line) } catch {
                throw ClusterTestError("\(path(ClusterUnderTest.clientsFileName)):\(number + 1): not a client history line")
            }
            guard case .submitted(_, let query?) = entry.observation else { continue }
            requests.append(RecordedRequest(client: entry.node.name, atMillis: virtual(entry.time).nanoseconds / 1_000_000, query: query))
        }
        guard !requests.isEmpty else { throw ClusterTestError("\(directory): the recording holds no client request") }
        let perClient = Dictionary(grouping: requests, by: \.client).mapValues(\.count)
        var workload = Workload(
            clients: facts.clients.count, requestsPerClient: perClient.values.max() ?? 0, pattern: .sendAll,
            pollInterval: virtual(seconds: ClusterTestClient.pollSecondsDefault))
        workload.recorded = requests

        // The faults.
        var entries: [FaultEntry] = []
        var notReplayed: [String] = []
        var replayed: [String] = []
        let roleNodes = layout.spec.roleNames.map(\.name) + layout.spec.llmNames.map(\.name)
        let clientNodes = facts.clients.map(\.name)
        for (index, fault) in try faultRecords(path(ClusterRecording.faultsFileName)).enumerated() {
            let start = Instant.zero + virtual(seconds: fault.atSeconds)
            let end = start + virtual(seconds: fault.seconds)
            func nodes(_ process: String) throws -> [String] {
                guard let nodes = summary.processes[process] else {
                    throw ClusterTestError("\(directory): a fault names process '\(process)', which the recording does not list")
                }
                return nodes
            }
            let actions = try Self.actions(
                for: fault, id: "real-\(index + 1)", start: start, end: end, nodes: nodes, roleNodes: roleNodes, clientNodes: clientNodes, speedup: speedup)
            if actions.isEmpty {
                notReplayed.append(
                    "\(fault.kind) at \(String(format: "%.1f", fault.atSeconds)) s: \(Self.unreplayable[fault.kind] ?? "no simulator counterpart")")
                continue
            }
            entries += actions
            replayed.append(
                String(format: "t=%.1fs %@ -> %d action(s) at virtual %.1fs", fault.atSeconds, fault.kind, actions.count, Double(start.nanoseconds) / 1e9))
        }

        var scenario = Scenario(
            name: "replay-real:" + (directory as NSString).lastPathComponent, cluster: layout.spec, llm: llm, workload: workload,
            faults: FaultSpec(mix: .none, fixed: FaultPlanner.sortedStable(entries)))
        // The safety phase lasts until the real run healed (or the last fault ended), the
        // liveness phase as long as the real one waited, and at least the default.
        let healed = max(virtual(facts.healAt).nanoseconds, entries.map(\.at.nanoseconds).max() ?? 0)
        scenario.phases = Phases(
            safety: .nanoseconds(healed + 1_000_000_000), liveness: max(Phases().liveness, .nanoseconds(max(0, facts.end - facts.healAt) * speedup)))
        return RealRunReplay(
            scenario: scenario, cassetteEntries: try CassetteFiles.load(directory), summary: summary, facts: facts, notReplayed: notReplayed,
            replayedFaults: replayed)
    }

    /// Why a real fault kind has no replay.
    static let unreplayable = [
        "clock-skew": "the simulator has one clock, so no process's clock can run apart",
        "disk-full": "the simulated disk does not run out of space",
    ]

    /// The simulator's actions for one real fault.
    static func actions(
        for fault: ClusterRecording.FaultRecord, id: String, start: Instant, end: Instant, nodes: (String) throws -> [String], roleNodes: [String],
        clientNodes: [String], speedup: Int64
    ) throws -> [FaultEntry] {
        func around(_ down: (String) -> FaultAction, _ up: (String) -> FaultAction, _ targets: [String]) -> [FaultEntry] {
            targets.map { FaultEntry(at: start, action: down($0)) } + targets.map { FaultEntry(at: end, action: up($0)) }
        }
        let parts = fault.kind.split(separator: "-", maxSplits: 1).map(String.init)
        switch (parts.first ?? "", parts.count > 1 ? parts[1] : "") {
        case ("kill", "all"): return around(FaultAction.crash, FaultAction.restart, roleNodes)
        case ("kill", let process): return around(FaultAction.crash, FaultAction.restart, try nodes(process))
        case ("pause", let process): return around(FaultAction.pause, FaultAction.resume, try nodes(process))
        case ("stall", "store"): return around(FaultAction.pause, FaultAction.resume, try nodes("a"))
        case ("partition", let process):
            let cut = try nodes(process)
            let others = roleNodes.filter { !cut.contains($0) } + clientNodes
            return [
                FaultEntry(at: start, action: .partition(id: id, from: cut, to: others, oneWay: false)), FaultEntry(at: end, action: .heal(id: id)),
            ]
        default:
            break
        }
        guard let links = fault.links else { return [] }
        var actions: [FaultEntry] = []
        for (number, link) in links.enumerated() {
            let from = try nodes(link.from)
            let to = try nodes(link.to)
            if link.muted {
                let cut = "\(id)-\(number + 1)"
                if let flap = fault.flapMillis, flap > 0 {
                    // Cut, restored, cut...: as the harness toggled it, from a cut.
                    let step = Interval.nanoseconds(Int64(flap) * 1_000_000 * speedup)
                    var at = start
                    var down = true
                    var flip = 0
                    while at < end {
                        let name = "\(cut)-\(flip / 2 + 1)"
                        actions.append(FaultEntry(at: at, action: down ? .partition(id: name, from: from, to: to, oneWay: true) : .heal(id: name)))
                        down.toggle()
                        flip += 1
                        at = at + step
                    }
                    if !down { actions.append(FaultEntry(at: end, action: .heal(id: "\(cut)-\((flip - 1) / 2 + 1)"))) }
                } else {
                    actions += [
                        FaultEntry(at: start, action: .partition(id: cut, from: from, to: to, oneWay: true)), FaultEntry(at: end, action: .heal(id: cut)),
                    ]
                }
            }
            // A delay holds each message for its base and up to its jitter more; a loss, for
            // TCP's retransmission of what was lost (200 ms, Linux's least timeout, and up to
            // twice that for a second loss).
            let delay: (min: Int64, max: Int64)? =
                link.delayMillis.map { (Int64($0), Int64($0 + (link.jitterMillis ?? 0))) } ?? link.lossPercent.map { _ in (0, 400) }
            if let delay {
                for source in from {
                    for target in to {
                        actions.append(
                            FaultEntry(
                                at: start,
                                action: .delayLink(
                                    from: source, to: target, min: .milliseconds(delay.min * speedup), max: .milliseconds(delay.max * speedup))))
                        actions.append(FaultEntry(at: end, action: .undelayLink(from: source, to: target)))
                    }
                }
            }
        }
        return actions
    }

    static func lines(_ path: String) throws -> [Data] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ClusterTestError("cannot read \(path)") }
        return data.split(separator: 0x0A).filter { !$0.isEmpty }.map { Data($0) }
    }

    static func faultRecords(_ path: String) throws -> [ClusterRecording.FaultRecord] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return try lines(path).enumerated().map { number, line in
            do { return try JSONDecoder().decode(ClusterRecording.FaultRecord.self, from: line) } catch {
                throw ClusterTestError("\(path):\(number + 1): not a fault record (\(CassetteFiles.shortDecodingError(error)))")
            }
        }
    }
}
