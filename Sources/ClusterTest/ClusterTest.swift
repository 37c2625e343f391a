// The real-process cluster test: the counterpart, on real processes, of a simulated scenario.
//
// What it runs: four child processes of this binary on one machine, in Linux network namespaces
// where the machine allows (so partitions are real), else on loopback:
//   a    `agentos serve` hosting the store, the gateway and both regions;
//   b, c `agentos serve` hosting two proxies each;
//   llm  `agentos fake-llm`, with realistic latencies and no content faults.
// Their role planes authenticate each other with mutual TLS from a fresh cluster CA (or with a
// fresh HMAC secret). Clients send queries with idempotency keys and poll them; a supervisor
// injects one seeded fault at a time (SIGKILL and restart, SIGSTOP and SIGCONT, a partition,
// lossy, slow, one-way or flapping links, splits, a stalled store, a full disk, skewed clocks);
// after the traffic phase every process is brought back and the run waits for every client to
// see its tasks final. Every role records its observations and the clients record what they
// saw; the checkers (`Checks`) judge the merged history and the store's final rows, exactly as
// they judge a simulated run.
//
// How to launch it: `agentos cluster-test [--duration S] [--seed N]`, or from Swift:
//     let report = try await ClusterTest.run(ClusterTestOptions(duration: 30), network: .loopback)
// (the child processes are this program run as `agentos serve` and `agentos fake-llm`, so the
// caller must be the `agentos` binary or pass its path in `ClusterTestOptions.binary`).
//
// Options (`ClusterTestOptions`): the traffic phase's length, the seed of the client gaps and
// the fault schedule, the speedup of every clock, clients and requests, the fault gap and length
// ranges and kinds, the liveness wait, the folder the processes' data, logs and histories go
// to, the role-plane authentication, a PostgreSQL store, and a parity scenario (the scenario's
// workload run both in the simulator and on the cluster, their mean latencies compared).
//
// Files: `ClusterUnderTest` (the processes and the faults that hit them), `FaultStep` (a fault's
// seeded details), `ClusterNetwork` (namespaces or loopback), `LinkPlane` and `LinkProxy` (every
// link through the hub, where the link faults act), `SmallDisk` (the store's own filesystem for
// `disk-full`), `ChildProcess` (one child), `Workload` (the clients), `History` (the histories
// turned into the checkers' events), `Report` (the verdict).

import AsyncHTTPClient
import Checks
import Core
import Foundation
import PostgresStore
import SQLiteStore
import Scenarios
import Server
import Sim

/// What one cluster test runs.
public struct ClusterTestOptions: Sendable {
    /// Seconds of client traffic with faults.
    public var duration = 60
    /// The seed of the clients' gaps and the fault schedule.
    public var seed: UInt64 = 1
    /// The cluster's clocks, timers and LLM run this many times faster.
    public var speedup: Int64 = 10
    public var clients = 3
    public var requestsPerClient = 20
    /// Seconds between the start of one fault and the next, and how long a fault lasts.
    public var faultGap: ClosedRange<Double> = 3...7
    public var faultLength: ClosedRange<Double> = 1...4
    /// The fault kinds drawn from (nil: every kind the network can inject); empty: no faults.
    public var faultKinds: [ClusterUnderTest.Fault]?
    /// Seconds the run may take after the faults stop for every client to see its tasks final.
    public var liveness = 120
    /// Where the processes' data, logs and histories go.
    public var folder: String
    /// A planted bug for the serve processes (tests of the harness itself).
    public var plantedBug: String?
    /// A planted core bug (`CoreBug`) for the serve processes' roles: the same code the
    /// simulator can run, so a recorded run and its replay (`replay-real`) agree.
    public var plantedCoreBug: String?
    /// A PostgreSQL store instead of SQLite.
    public var storeURL: String?
    public var rolePlane = ClusterUnderTest.RolePlane.tls
    /// Parity: this scenario's workload runs both in the simulator and on the cluster.
    public var parity: Scenario?
    /// Parity: the largest relative difference allowed between the mean latencies.
    public var tolerance = 0.35
    /// `--record DIR`: keep the run there (`ClusterRecording`): LLM cassettes, arrivals,
    /// faults, histories and the final store.
    public var recordDirectory: String?

    public init(folder: String) {
        self.folder = folder
    }
}

public enum ClusterTest {
    /// The parity scenario, reshaped to what the real cluster runs: its topology, no faults, and
    /// the scenario's LLM without content faults (a real run keeps no call records to justify
    /// an abort for malformed answers).
    public static func parityShape(_ scenario: Scenario) -> Scenario {
        var scenario = scenario
        scenario.reshape(like: .serveDefault)
        scenario.llm.flakiness = .none
        scenario.faults = FaultSpec()
        scenario.network = NetworkConfig()
        scenario.budgets = Budgets()
        return scenario
    }

    /// Runs the test: starts the cluster, drives the clients, injects the faults, heals, waits for
    /// liveness, stops the processes and judges the history. `progress` gets one line per step.
    public static func run(
        _ options: ClusterTestOptions, network: ClusterNetwork, loopbackReason: String? = nil, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> ClusterTestReport {
        let folder = options.folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let parity = options.parity.map(parityShape)
        let simulated = try parity.map { try ScenarioRun(scenario: $0, seed: options.seed).execute() }
        let llmConfig = parity.map { String(decoding: (try? JSONEncoder().encode($0.llm)) ?? Data(), as: UTF8.self) }
        let networkLine = network.partitions ? "network namespaces on a bridge (partitions available)" : "loopback (no partitions: \(loopbackReason ?? "loopback"))"
        progress("network: \(networkLine)")
        let cluster = try ClusterUnderTest(
            folder: folder, speedup: options.speedup, seed: options.seed, plantedBug: options.plantedBug, llmConfig: llmConfig, network: network,
            storeURL: options.storeURL, rolePlane: options.rolePlane, smallDisk: options.faultKinds?.contains(.diskFull) == true,
            recordDirectory: options.recordDirectory, plantedCoreBug: options.plantedCoreBug)
        progress("role plane: \(options.rolePlane == .tls ? "mutual TLS (a fresh cluster CA)" : "HMAC-signed with a fresh cluster secret")")

        let start = HistoryLine.now()
        var random = SimRandom(seed: options.seed, stream: .clusterTest)
        let recorder = try ClientRecorder(file: cluster.clientsFile)
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(1)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let workload = ClusterWorkload(
            options: options, parity: parity, base: cluster.clientURL, run: "ct\(options.seed)-\(start % 1_000_000)", client: http, recorder: recorder,
            random: &random)
        let drivers = workload.drivers
        let duration = workload.trafficSeconds
        let names = drivers.map(\.name)
        let kinds = parity == nil ? options.faultKinds ?? ClusterUnderTest.Fault.available(on: network) : []
        progress("cluster up in \(folder) (x\(options.speedup)); \(names.count) client(s), \(drivers.map(\.requests).reduce(0, +)) requests over \(duration) s")
        let deadline = ContinuousClock.now + .seconds(duration + options.liveness)
        let clientsDone = Task { await withTaskGroup(of: Void.self) { group in for driver in drivers { group.addTask { await driver.drive(until: deadline) } } } }

        // Faults, one at a time, on the seeded schedule, until the traffic phase ends.
        var timeline: [String] = []
        var faultRecords: [ClusterRecording.FaultRecord] = []
        let faultsEnd = ContinuousClock.now + .seconds(duration)
        func draw(_ range: ClosedRange<Double>) -> Double { range.lowerBound + Double(random.int64(in: 0...1000)) / 1000 * (range.upperBound - range.lowerBound) }
        while !kinds.isEmpty, ContinuousClock.now < faultsEnd {
            try await Task.sleep(for: .milliseconds(Int64(draw(options.faultGap) * 1000)))
            guard ContinuousClock.now < faultsEnd else { break }
            let fault = kinds[random.index(below: kinds.count)]
            let step = FaultStep.plan(fault, seconds: draw(options.faultLength), random: &random)
            let at = Double(HistoryLine.now() - start) / 1e9
            timeline.append(String(format: "t=%6.2fs %@ for %.1fs", at, step.description, step.seconds))
            progress(timeline.last!)
            let effect = try await cluster.inject(step)
            faultRecords.append(ClusterRecording.FaultRecord(step, atSeconds: at, effect: effect))
            if let effect {
                timeline[timeline.count - 1] += ": \(effect)"
                progress("  healed: \(effect)")
            }
        }
        if ContinuousClock.now < faultsEnd { try await Task.sleep(until: faultsEnd) }
        try cluster.healAll()
        let healAt = HistoryLine.now()
        progress("faults healed; waiting up to \(options.liveness) s for every client to see its tasks final")

        // Liveness: every request answered and every acknowledged task seen final.
        var converged = false
        var recoverySeconds: Double?
        while ContinuousClock.now < deadline {
            if await recorder.clientsDone == names.count, await recorder.open == 0 {
                converged = true
                recoverySeconds = Double(HistoryLine.now() - healAt) / 1e9
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        clientsDone.cancel()
        _ = await clientsDone.result
        try await http.shutdown()
        let end = HistoryLine.now()
        let crashed = cluster.stopAll()
        try ClusterRunFacts(clients: names, start: start, healAt: healAt, end: end, speedup: options.speedup, postgres: options.storeURL != nil)
            .write(to: cluster.factsFile)

        // The verdict: the checkers over the merged history and the final store.
        let judged = try ClusterHistory.judge(folder: folder, storeURL: options.storeURL)
        let tasks = judged.tasks
        var passed = judged.violations.isEmpty && converged && crashed.isEmpty
        var parityReport: ParityReport?
        if let simulated, let parity {
            let realLatencies = await recorder.entries.compactMap { entry -> Double? in
                if case .finished(_, let latency, _) = entry.observation { Double(latency.nanoseconds) / 1e9 } else { nil }
            }
            let realMean = realLatencies.isEmpty ? 0 : realLatencies.reduce(0, +) / Double(realLatencies.count)
            let simulatedMean = Double(simulated.latencyMean ?? 0) / 1e9
            let ratio = simulatedMean > 0 ? realMean / simulatedMean : 0
            let agree = abs(ratio - 1) <= options.tolerance
            parityReport = ParityReport(
                scenario: parity.name, simulatedPassed: simulated.passed, simulatedChecks: simulated.checks, simulatedMean: simulatedMean,
                realMean: realMean, ratio: ratio, tolerance: options.tolerance, agree: agree)
            passed = passed && simulated.passed && agree
        }
        if let directory = options.recordDirectory {
            let summary = ClusterRecording.Summary(
                seed: options.seed, speedup: options.speedup, durationSeconds: duration, clients: options.clients, requestsPerClient: options.requestsPerClient,
                network: networkLine, faultKinds: kinds.map(\.name), passed: passed, failedChecks: judged.checks.filter { !$0.passed }.map(\.name),
                converged: converged, plantedBug: options.plantedBug, plantedCoreBug: options.plantedCoreBug,
                processes: ClusterUnderTest.hosted.reduce(into: ["llm": ClusterUnderTest.llmNodes]) { $0[$1.process] = $1.roles.map(\.name) })
            try ClusterRecording.write(to: directory, folder: folder, faults: faultRecords, summary: summary)
            progress("recorded in \(directory): LLM cassettes, arrivals, faults, histories and the final store (`agentos check \(directory)` judges it)")
        }
        return ClusterTestReport(
            seed: options.seed, speedup: options.speedup, durationSeconds: duration, faults: timeline, requests: drivers.map(\.requests).reduce(0, +),
            acknowledged: await recorder.acknowledged, finished: await recorder.finished, taskRows: tasks.count,
            completed: tasks.filter { $0.status == .completed }.count, aborted: tasks.filter { $0.status == .aborted }.count,
            network: networkLine, historyEvents: judged.historyEvents, messageEvents: judged.messageEvents, converged: converged,
            recoverySeconds: recoverySeconds,
            crashedProcesses: crashed, checks: judged.checks, violations: judged.violations, parity: parityReport, passed: passed, folder: folder)
    }
}
