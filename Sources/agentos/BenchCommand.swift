import ArgumentParser
import Campaigns
import Determinism
import Foundation
import Scenarios
import Sim

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release for meaningful figures).",
        subcommands: [BenchKernel.self, BenchSwarm.self, BenchFaults.self, BenchReal.self, BenchFind.self]
    )
}

/// Many nodes exchanging messages with random latencies, trace hashing on, no trace file.
/// Runs a short and a long run in one process: if the peak memory after the long run is close
/// to the short run's, nothing is retained per event.
struct BenchKernel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernel",
        abstract: "Kernel throughput (events per second) and peak memory as the run grows."
    )

    @Option(help: "Number of nodes.")
    var nodes = 64

    @Option(help: "Messages each node keeps in flight.")
    var tokens = 32

    @Option(help: "Queue events (deliveries, timers) processed by the long run.")
    var steps: UInt64 = 20_000_000

    @Option(help: "The seed.")
    var seed: UInt64 = 1

    @Flag(help: "Print the figures as JSON.")
    var json = false

    @Flag(help: "Also run the two peers on the same workload (a bare C binary heap, compiled with cc -O3, and SimPy when installed) and print our speed as a ratio of theirs.")
    var peers = false

    @Option(help: "The folder of the peer programs (default: Benchmarks/Peers).")
    var peersDir: String?

    func validate() throws {
        guard nodes >= 2, nodes <= 4096 else { throw ValidationError("--nodes must be in 2...4096") }
        guard tokens >= 1 else { throw ValidationError("--tokens must be at least 1") }
        guard steps >= 10 else { throw ValidationError("--steps must be at least 10") }
    }

    func run() throws {
        #if DEBUG
        FileHandle.standardError.write(Data("warning: debug build; use `swift run -c release agentos bench kernel`\n".utf8))
        #endif
        let peerPrograms = try peers ? KernelPeers.locate(peersDir) : nil
        var results: [KernelBenchResult] = []
        for size in [steps / 10, steps] {
            let config = GossipConfig(nodes: nodes, tokensPerNode: tokens, faults: .none)
            let simulation = try GossipRun.makeSimulation(seed: seed, config: config, faults: [])
            let (_, seconds) = measure { GossipRun.runSteps(simulation, steps: size) }
            results.append(
                KernelBenchResult(
                    steps: simulation.stepCount, events: simulation.eventCount, wallSeconds: seconds,
                    stepsPerSecond: Double(simulation.stepCount) / seconds,
                    eventsPerSecond: Double(simulation.eventCount) / seconds,
                    peakResidentBytes: peakResidentBytes(), hash: simulation.fingerprintHex))
        }
        var peerResults: [KernelPeers.Result] = []
        if let peerPrograms {
            // The same workload: a delivery is a step here, each sends one message on.
            peerResults.append(peerPrograms.bareHeap(nodes: nodes, inFlight: nodes * tokens, deliveries: steps))
            peerResults.append(peerPrograms.simpy(nodes: nodes, inFlight: nodes * tokens, deliveries: min(steps, 500_000)))
        }
        if json {
            if peers {
                printJSON(KernelBenchReport(runs: results, peers: peerResults, ours: results.last?.stepsPerSecond ?? 0))
            } else {
                printJSON(results)
            }
            return
        }
        print("kernel benchmark: \(nodes) nodes x \(tokens) messages in flight, hashing on, no trace file")
        print("  steps        trace events   wall s    steps/s      trace events/s   peak RSS")
        for result in results {
            print(
                String(
                    format: "  %-12llu %-14llu %-9.3f %-12.0f %-16.0f %@", result.steps, result.events,
                    result.wallSeconds, result.stepsPerSecond, result.eventsPerSecond,
                    formatBytes(result.peakResidentBytes)))
        }
        guard let ours = results.last?.stepsPerSecond, !peerResults.isEmpty else { return }
        print("peers, same workload (\(nodes) nodes, \(nodes * tokens) in flight, one delivery per step):")
        func name(_ text: String) -> String { text + String(repeating: " ", count: max(0, 14 - text.count)) }
        print("  " + name("agentos") + String(format: "%12.0f deliveries/s", ours))
        for peer in peerResults {
            if let rate = peer.deliveriesPerSecond {
                print("  " + name(peer.peer) + String(format: "%12.0f deliveries/s   agentos / peer: %.3f", rate, ours / rate))
            } else {
                print("  \(peer.peer): not run (\(peer.note ?? "unknown"))")
            }
        }
    }
}

struct KernelBenchReport: Encodable {
    let runs: [KernelBenchResult]
    let peers: [KernelPeers.Result]
    /// The long run's deliveries per second.
    let ours: Double
}

struct KernelBenchResult: Encodable {
    let steps: UInt64
    let events: UInt64
    let wallSeconds: Double
    let stepsPerSecond: Double
    let eventsPerSecond: Double
    let peakResidentBytes: UInt64?
    let hash: String
}

/// Swarm seeds per second on one core, and peak memory.
struct BenchSwarm: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "swarm", abstract: "Swarm seeds per second (one core) and peak memory.")

    @Option(help: "How many seeds.")
    var seeds = 300

    @Option(help: "The first seed.")
    var start: UInt64 = 1

    func run() throws {
        #if DEBUG
        FileHandle.standardError.write(Data("warning: debug build; use `swift run -c release agentos bench swarm`\n".utf8))
        #endif
        var events: UInt64 = 0
        var failures = 0
        var tasks: [Int] = []
        let (_, wall) = try measure {
            for seed in start..<(start + UInt64(seeds)) {
                let report = try ScenarioRun(scenario: ScenarioLibrary.swarm(seed: seed), seed: seed).execute()
                events += report.events
                tasks.append(report.tasks)
                if !report.passed { failures += 1 }
            }
        }
        print("swarm benchmark: \(seeds) seeds from \(start), one core")
        print(String(format: "  %.1f seeds/s, %.0f events/s, %.2f s wall, %llu events, %d failing seeds", Double(seeds) / wall, Double(events) / wall, wall, events, failures))
        // Seeds grow as the swarm draws bigger workloads, so events/s is the comparable figure;
        // the task distribution says how big the seeds were.
        let sorted = tasks.sorted()
        if !sorted.isEmpty {
            let at = { (percent: Int) in Percentile.nearestRank(percent, of: sorted)! }
            print(String(
                format: "  tasks per seed: mean %.1f, p50 %d, p90 %d, p99 %d, max %d; seeds with 20+ tasks: %d",
                Double(sorted.reduce(0, +)) / Double(sorted.count), at(50), at(90), at(99), sorted.last!, sorted.filter { $0 >= 20 }.count))
        }
        print("  peak RSS: \(formatBytes(peakResidentBytes()))")
    }
}

/// The reference's 300-second fault-tolerance experiment, simulated.
struct BenchFaults: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults", abstract: "Wall time to simulate the reference's fault-tolerance benchmark (300 s, 0.2 req/s, a proxy crash every 60 s).")

    @Option(help: "The seed.")
    var seed: UInt64 = 1

    @Option(help: "Repetitions (the best is reported).")
    var repeats = 5

    func run() throws {
        var best = Double.infinity
        var report: RunReport?
        for _ in 0..<repeats {
            let (result, wall) = try measure { try ScenarioRun(scenario: ScenarioLibrary.faultTolerance, seed: seed).execute() }
            best = min(best, wall)
            report = result
        }
        guard let report else { return }
        print("fault-tolerance benchmark (seed \(seed)): \(report.tasks) tasks, \(report.completed) completed, \(report.faultsInjected) faults, \(report.events) events, virtual \(Interval(nanoseconds: report.virtualEnd))")
        print("  task latency (virtual, submit to final status): p50 \(seconds(report.latencyP50)), p99 \(seconds(report.latencyP99)); \(report.passed ? "all invariants hold" : "VIOLATIONS: \(report.violations.count)")")
        print(String(format: "  wall: %.3f s (best of %d)", best, repeats))
        print("  peak RSS: \(formatBytes(peakResidentBytes()))")
    }
}
