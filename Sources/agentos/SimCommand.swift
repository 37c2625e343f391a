import ArgumentParser
import Campaigns
import Foundation
import Sim

/// The kernel on its own: seeded gossip runs with faults, traces and exact replay.
struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run the simulation kernel's demo world (gossip with faults) and replay its traces.",
        subcommands: [SimRun.self, SimReplay.self]
    )
}

struct SimRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one seed of the kernel demo world: a safety phase with faults, then a liveness phase."
    )

    @Option(help: "The run seed (any unsigned 64-bit integer).")
    var seed: UInt64 = 1

    @Option(help: "A gossip configuration file (JSON); flags below override it.")
    var config: String?

    @Option(help: "Number of nodes.")
    var nodes: Int?

    @Option(help: "Tokens each node starts.")
    var tokens: Int?

    @Option(name: .customLong("duration-ms"), help: "Length of the safety phase in virtual milliseconds.")
    var durationMilliseconds: Int64?

    @Flag(name: .customLong("no-faults"), help: "Run without injected faults.")
    var noFaults = false

    @Option(help: "Write the trace (JSON Lines) to this file.")
    var trace: String?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func run() throws {
        var gossip = try config.map { try loadJSON(GossipConfig.self, path: $0, what: "config") } ?? GossipConfig()
        if let nodes { gossip.nodes = nodes }
        if let tokens { gossip.tokensPerNode = tokens }
        if let durationMilliseconds { gossip.duration = .milliseconds(durationMilliseconds) }
        if noFaults { gossip.faults = .none }
        do { try gossip.validate() } catch { throw CLIError("bad configuration: \(oneLineError(error))") }

        // The seed and the way back come first, so a crash mid-run never loses them.
        var rerun = "agentos sim run --seed \(seed)"
        if let config { rerun += " --config \(config)" }
        if let nodes { rerun += " --nodes \(nodes)" }
        if let tokens { rerun += " --tokens \(tokens)" }
        if let durationMilliseconds { rerun += " --duration-ms \(durationMilliseconds)" }
        if noFaults { rerun += " --no-faults" }
        if !json {
            print("seed: \(seed)")
            print("rerun: \(rerun)")
            if let trace { print("replay: agentos sim replay \(trace)") }
        }

        let network = NetworkConfig()
        let faults = GossipRun.plannedFaults(seed: seed, config: gossip)
        let simulation = try GossipRun.makeSimulation(seed: seed, config: gossip, network: network, faults: faults)
        let writer = try trace.map {
            try TraceWriter(
                path: $0, header: GossipRun.header(seed: seed, config: gossip, network: network, faults: faults),
                simulation: simulation)
        }
        let (liveness, seconds) = measure { GossipRun.drive(simulation, config: gossip) }
        try writer?.finish(simulation: simulation)

        let summary = SimRunSummary(
            seed: String(seed), world: GossipRun.worldName, nodes: gossip.nodes, faults: faults.count,
            events: simulation.eventCount, steps: simulation.stepCount,
            virtualSeconds: Double(simulation.now.nanoseconds) / 1e9, livenessConverged: liveness.converged,
            hash: simulation.fingerprintHex, wallSeconds: seconds, trace: trace, rerun: rerun)
        if json {
            printJSON(summary)
        } else {
            print("world: \(summary.world), nodes: \(summary.nodes), faults injected: \(summary.faults)")
            print("events: \(summary.events), steps: \(summary.steps), virtual time: \(simulation.now)")
            print("liveness: \(liveness.converged ? "converged" : "did not converge") (healed at \(liveness.healedAt))")
            print("hash: \(summary.hash)")
            print(String(format: "wall time: %.3f s", seconds))
        }
        if !liveness.converged { throw ExitCode(ExitStatus.failed) }
    }
}

struct SimRunSummary: Encodable {
    let seed: String
    let world: String
    let nodes: Int
    let faults: Int
    let events: UInt64
    let steps: UInt64
    let virtualSeconds: Double
    let livenessConverged: Bool
    let hash: String
    let wallSeconds: Double
    let trace: String?
    let rerun: String
}

struct SimReplay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run a kernel trace and verify it event by event; names the first divergence.",
        discussion: "Exit status: 0 identical, 1 diverged, 2 the trace cannot be used."
    )

    @Argument(help: "The trace file (JSON Lines) to replay.")
    var file: String

    @Flag(help: "Print the verdict as JSON.")
    var json = false

    func run() throws {
        try Self.verdict(file: file, json: json)
    }

    /// Replays a kernel-demo trace and prints the verdict; exit 1 on a divergence.
    static func verdict(file: String, json: Bool) throws {
        let report: ReplayReport
        do {
            let recorded = try RecordedTrace.load(path: file)
            report = try GossipRun.replay(recorded)
        } catch let error as TraceFileError {
            throw CLIError(error.description)
        }
        try printVerdict(report, json: json)
    }
}

/// Prints an exact replay's verdict (any world); exit status 1 unless identical.
func printVerdict(_ report: ReplayReport, json: Bool) throws {
    if json {
        printJSON(ReplayVerdict(report))
    } else if report.identical && !report.hashCompared {
        print("identical: \(report.replayedEvents) events (the trace's hash \(report.recordedHash) is of an older hash format; events compared one by one), hash now \(report.replayedHash)")
    } else if report.identical {
        print("identical: \(report.replayedEvents) events, hash \(report.replayedHash)")
    } else if let divergence = report.divergence {
        print("diverged: \(divergence)")
    } else {
        print("diverged: every event matches but the hash differs (recorded \(report.recordedHash), replayed \(report.replayedHash))")
    }
    if !report.identical { throw ExitCode(ExitStatus.failed) }
}

struct ReplayVerdict: Encodable {
    let identical: Bool
    let recordedEvents: UInt64
    let replayedEvents: UInt64
    let recordedHash: String
    let replayedHash: String
    let hashCompared: Bool
    let divergenceIndex: UInt64?
    let expected: String?
    let actual: String?

    init(_ report: ReplayReport) {
        identical = report.identical
        recordedEvents = report.recordedEvents
        replayedEvents = report.replayedEvents
        recordedHash = report.recordedHash
        replayedHash = report.replayedHash
        hashCompared = report.hashCompared
        divergenceIndex = report.divergence?.index
        expected = report.divergence?.expected
        actual = report.divergence?.actual
    }
}
