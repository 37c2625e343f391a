import ArgumentParser
import Campaigns
import ClusterTest
import Foundation

/// The seed README's testing client against a real gateway URL.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Drive a running gateway with the seed's client patterns (or the reference's Poisson benchmark) and report latency.",
        discussion: """
            Every query carries an idempotency key (request_id), so a query retried after a 503 (the cluster \
            is full: it waits for Retry-After) or a lost answer maps to the task the first attempt created. \
            Exit status: 0 every task completed, 1 some failed, were aborted or timed out, 2 bad input.
            """
    )

    @Option(help: "The gateway's base URL.") var url = "http://127.0.0.1:8000"
    @Option(help: "send_all, send_in_interval, send_batch_interval, send_dynamic_batch_interval, poisson.") var pattern = LoadRun.Pattern.sendAll
    @Option(help: "How many requests.") var requests = 10
    @Option(help: "Shortest gap between sends or bursts, seconds.") var intervalMin = 1.0
    @Option(help: "Longest gap between sends or bursts, seconds.") var intervalMax = 5.0
    @Option(help: "Burst size (send_batch_interval).") var batch = 3
    @Option(help: "Smallest burst (send_dynamic_batch_interval).") var batchMin = 1
    @Option(help: "Largest burst (send_dynamic_batch_interval).") var batchMax = 4
    @Option(help: "Arrivals per second (poisson).") var rate = 0.2
    @Option(help: "Task name.") var taskName = "code_generation"
    @Option(help: "Rounds per task.") var rounds = 2
    @Option(help: "Samples per round.") var samples = 3
    @Option(help: "Voters per round.") var voters = 3
    @Flag(help: "Cycle through the reference benchmark's five tasks instead of --rounds/--samples/--voters.") var reference = false
    @Option(help: "Seconds between status polls (the seed's 3).") var poll = 3.0
    @Option(help: "Seconds a task may take before it counts as timed out.") var timeout = 900.0
    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Send the arrivals a simulated client draws with this seed (the same pattern and rate), so a real run and `agentos run --seed` see the same schedule.")
    var arrivalsSeed: UInt64?
    @Option(help: "The server's --speedup: gaps and polls are divided by it and latencies reported multiplied by it, in the cluster's own time.")
    var speedup = 1.0

    func validate() throws {
        if let problem = settings.problem() { throw ValidationError(problem) }
    }

    var settings: LoadRun {
        var load = LoadRun()
        (load.url, load.pattern, load.requests, load.intervalMin, load.intervalMax) = (url, pattern, requests, intervalMin, intervalMax)
        (load.batch, load.batchMin, load.batchMax, load.rate, load.taskName) = (batch, batchMin, batchMax, rate, taskName)
        (load.rounds, load.samples, load.voters, load.reference, load.poll, load.timeout) = (rounds, samples, voters, reference, poll, timeout)
        (load.arrivalsSeed, load.speedup, load.progress) = (arrivalsSeed, speedup, !json && isatty(2) != 0)
        return load
    }

    func run() async throws {
        let report = await settings.run()
        if json { printJSON(report) } else { report.print() }
        if report.completed < report.requests { throw ExitCode(ExitStatus.failed) }
    }
}

extension LoadRun.Pattern: ExpressibleByArgument {}
