import ArgumentParser
import Foundation
import Sim

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release for meaningful figures).",
        subcommands: [BenchKernel.self]
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

    func validate() throws {
        guard nodes >= 2, nodes <= 4096 else { throw ValidationError("--nodes must be in 2...4096") }
        guard tokens >= 1 else { throw ValidationError("--tokens must be at least 1") }
        guard steps >= 10 else { throw ValidationError("--steps must be at least 10") }
    }

    func run() throws {
        #if DEBUG
        FileHandle.standardError.write(Data("warning: debug build; use `swift run -c release agentos bench kernel`\n".utf8))
        #endif
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
        if json {
            printJSON(results)
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
    }
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
