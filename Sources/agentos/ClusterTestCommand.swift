import Checks
import ArgumentParser
import AsyncHTTPClient
import Core
import Foundation
import PostgresStore
import Scenarios
import Server
import Sim

/// A Jepsen-style test of the real shell: a real cluster of `agentos serve` processes on this
/// machine, real clients, real faults on a seeded schedule, and the simulator's own checkers
/// over the recorded history.
struct ClusterTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-test",
        abstract: "Run a real multi-process cluster under real faults (SIGKILL, SIGSTOP) and check its history with the simulator's checkers.",
        discussion: """
            Starts four processes (in network namespaces where the machine allows, else on loopback): the store, \
            gateway and regions; two processes of two proxies each; and the fake LLM. The role planes authenticate \
            each other with mutual TLS from a fresh cluster CA (or, with --role-plane secret, a fresh cluster \
            secret). Clients send queries with idempotency keys and poll \
            them; every --fault-gap seconds a seeded fault hits: a process killed (SIGKILL) and restarted, or \
            paused (SIGSTOP) and resumed, the fake LLM included. After --duration the faults stop, every process \
            is brought back, and the run waits for every client to see its tasks final. Every role records its \
            observations (store writes with their epochs, claims, fences, acknowledgements) and the clients record \
            what they saw; the simulator's checkers judge the merged history and the store's final rows. \
            The fake LLM logs every call with the task and node the shell labelled it with, so prompt correctness \
            judges what prompts really carried; call accounting needs the message traffic only the simulator \
            records, so it is reported as not applicable. Exit status: 0 pass, 1 an invariant was violated or the cluster failed, 2 bad input.
            """
    )

    @Option(help: "Seconds of client traffic with faults.") var duration = 60
    @Option(help: "The seed of the clients' gaps and the fault schedule.") var seed: UInt64 = 1
    @Option(help: "Run the cluster this many times faster (its clocks, timers and LLM).") var speedup: Int64 = 10
    @Option(help: "Clients.") var clients = 3
    @Option(help: "Requests per client.") var requests = 20
    @Option(help: "Seconds between the start of one fault and the next (a range, MIN-MAX).") var faultGap = "3-7"
    @Option(help: "Seconds a fault lasts (a range, MIN-MAX).") var faultLength = "1-4"
    @Flag(help: "No faults (a baseline run).") var noFaults = false
    @Option(help: "The fault kinds to draw from, comma-separated: \(ClusterUnderTest.Fault.all.map(\.name).joined(separator: ", ")) (default: every kind the network allows; partitions need namespaces).")
    var faults: String?
    @Option(help: "Where the processes run: namespaces (one Linux network namespace each, so partitions are real; needs root and iproute2), loopback, or auto (namespaces where the machine allows them).")
    var network = NetworkMode.auto
    @Option(help: "Run the store on this PostgreSQL database (postgres://...) instead of SQLite; the audit reads it there. The processes then run on loopback, where the server is reachable.")
    var store: String?
    /// Set by the outer run that created the namespaces and re-ran the test inside the hub.
    @Option(help: .hidden) var insideNamespaces: String?
    @Option(help: "Seconds the run may take after the faults stop for every client to see its tasks final.") var liveness = 120
    @Option(help: "Keep the processes' data, logs and histories here (default: a temporary folder, removed on success).")
    var keep: String?
    @Option(help: .hidden) var plantedBug: String?
    @Option(help: "Parity: run this scenario's workload (a name or a file) both in the simulator and on the real cluster, on the real cluster's topology with the scenario's LLM minus its content faults, with the same arrivals and no faults; pass only if both pass the checkers and their mean latencies agree within --tolerance.")
    var parity: String?
    @Option(help: "Parity: the largest relative difference allowed between the real and the simulated mean latency.")
    var tolerance = 0.35
    @Option(help: "How the processes' role planes authenticate each other: tls (mutual TLS with a fresh cluster CA, `agentos certs`) or secret (HMAC-signed requests with a fresh cluster secret).")
    var rolePlane = ClusterUnderTest.RolePlane.tls
    @Flag(help: "Print the verdict as JSON.") var json = false

    func parseRange(_ text: String, _ flag: String) throws -> ClosedRange<Double> {
        let parts = text.split(separator: "-").compactMap { Double($0) }
        guard parts.count == 2, parts[0] > 0, parts[0] <= parts[1] else { throw ValidationError("\(flag) must be MIN-MAX seconds with 0 < MIN <= MAX, got '\(text)'") }
        return parts[0]...parts[1]
    }

    func validate() throws {
        guard duration >= 5 else { throw ValidationError("--duration must be at least 5 seconds") }
        guard (1...64).contains(clients), (1...1000).contains(requests) else { throw ValidationError("--clients must be 1...64 and --requests 1...1000") }
        guard (1...1000).contains(speedup) else { throw ValidationError("--speedup must be 1...1000") }
        guard liveness >= 5 else { throw ValidationError("--liveness must be at least 5 seconds") }
        _ = try parseRange(faultGap, "--fault-gap")
        _ = try parseRange(faultLength, "--fault-length")
        for kind in (faults ?? "").split(separator: ",") where ClusterUnderTest.Fault(name: String(kind)) == nil {
            throw ValidationError("unknown fault kind '\(kind)' (known: \(ClusterUnderTest.Fault.all.map(\.name).joined(separator: ", ")))")
        }
        if let plantedBug, PlantedBug(rawValue: plantedBug) == nil { throw ValidationError("unknown --planted-bug '\(plantedBug)'") }
    }

    /// The parity scenario, reshaped to what the real cluster runs: its topology, no faults, and
    /// the scenario's LLM without content faults (a real run keeps no call records to justify
    /// an abort for malformed answers).
    func parityScenario() throws -> Scenario? {
        guard let parity else { return nil }
        var scenario: Scenario
        if FileManager.default.fileExists(atPath: parity) {
            scenario = try loadJSON(Scenario.self, path: parity, what: "scenario file")
        } else {
            scenario = try ScenarioLibrary.scenario(named: parity, seed: seed)
        }
        let llm = scenario.topology.llm
        scenario.topology = Topology.serveDefault
        scenario.topology.llm = llm
        scenario.topology.llm.flakiness = .none
        scenario.faults = FaultSpec()
        scenario.network = NetworkConfig()
        scenario.budgets = Budgets()
        return scenario
    }

    enum NetworkMode: String, ExpressibleByArgument, CaseIterable {
        case auto, namespaces, loopback
    }

    /// The fault kinds to draw from on `network`; naming a kind it cannot inject is an error.
    func faultKinds(on network: ClusterNetwork, loopbackReason: String?) throws -> [ClusterUnderTest.Fault] {
        guard let faults else { return ClusterUnderTest.Fault.available(on: network) }
        let kinds = faults.split(separator: ",").compactMap { ClusterUnderTest.Fault(name: String($0)) }
        if let partition = kinds.first(where: { $0.isPartition }), !network.partitions {
            throw CLIError("\(partition.name) needs network namespaces, which are unavailable here: \(loopbackReason ?? "loopback")")
        }
        return kinds
    }

    func run() async throws {
        if store != nil, network == .namespaces {
            throw CLIError("--store: a PostgreSQL server outside the cluster's network namespaces is out of their reach; use --network loopback or auto")
        }
        // Why the processes run on loopback (nil: inside namespaces). Namespaces are made by an
        // outer run, which then runs the test itself inside the hub namespace (so its clients
        // share the cluster's network) and removes them afterwards.
        var loopbackReason: String?
        if insideNamespaces == nil {
            if network == .loopback {
                loopbackReason = "--network loopback"
            } else if store != nil {
                loopbackReason = "a PostgreSQL store, reachable on loopback only"
            } else {
                guard let reason = ClusterNetwork.unavailableReason() else { return try runInsideNamespaces() }
                if network == .namespaces { throw CLIError("--network namespaces: \(reason)") }
                loopbackReason = reason
            }
        }
        let clusterNetwork = insideNamespaces.map { ClusterNetwork(prefix: $0) } ?? .loopback
        let kinds = try faultKinds(on: clusterNetwork, loopbackReason: loopbackReason)
        try await runTest(network: clusterNetwork, kinds: kinds, loopbackReason: loopbackReason)
    }

    /// Creates the namespaces, runs this same command inside the hub namespace, passes its output
    /// and exit status through, and removes the namespaces whatever happens.
    func runInsideNamespaces() throws {
        let network = try ClusterNetwork.create()
        defer { network.remove() }
        let inner = Process()
        inner.executableURL = URL(fileURLWithPath: ClusterNetwork.ipTool!)
        inner.arguments = ["netns", "exec", "\(network.prefix!)-hub", ChildProcess.binary.path] + CommandLine.arguments.dropFirst()
            + ["--inside-namespaces", network.prefix!]
        // A Ctrl-C reaches the inner run too (same process group); SIGTERM is passed on. Either
        // way this process waits for the inner run, so the namespaces are always removed.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let forward = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { if inner.isRunning { kill(inner.processIdentifier, number) } }
            source.resume()
            return source
        }
        try inner.run()
        inner.waitUntilExit()
        forward.forEach { $0.cancel() }
        if inner.terminationStatus != 0 { throw ExitCode(inner.terminationStatus) }
    }

    func runTest(network: ClusterNetwork, kinds: [ClusterUnderTest.Fault], loopbackReason: String?) async throws {
        let folder = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("agentos-cluster-test-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let parityScenario = try parityScenario()
        let simulated = try parityScenario.map { try ScenarioRun(scenario: $0, seed: seed).execute() }
        let llmConfig = parityScenario.map { String(decoding: (try? JSONEncoder().encode($0.topology.llm)) ?? Data(), as: UTF8.self) }
        let progress: (String) -> Void = { line in if !json { FileHandle.standardError.write(Data("cluster-test: \(line)\n".utf8)) } }
        let networkLine = network.partitions ? "network namespaces on a bridge (partitions available)" : "loopback (no partitions: \(loopbackReason ?? "loopback"))"
        progress("network: \(networkLine)")
        let cluster = try ClusterUnderTest(
            folder: folder, speedup: speedup, seed: seed, plantedBug: plantedBug, llmConfig: llmConfig, network: network, storeURL: store,
            rolePlane: rolePlane)
        progress("role plane: \(rolePlane == .tls ? "mutual TLS (a fresh cluster CA)" : "HMAC-signed with a fresh cluster secret")")

        let start = HistoryLine.now()
        var random = SimRandom(seed: seed, key: "cluster-test")
        let recorder = ClientRecorder()
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(1)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let run = "ct\(seed)-\(start % 1_000_000)"
        var drivers: [ClusterTestClient] = []
        var trafficSeconds = duration
        if let scenario = parityScenario {
            // The simulated clients' own arrivals, task templates and poll interval, in real time.
            let workload = scenario.workload
            let queries = workload.tasks.map { $0.query(description: "write and test a function.") }
            for client in 1...workload.clients {
                let name = "client-\(client)"
                var gaps: [Double] = []
                for burst in ClientArrivals.plan(workload, client: name, seed: seed) {
                    gaps += burst.requests.enumerated().map { $0.offset == 0 ? Double(burst.gap.nanoseconds) / 1e9 / Double(speedup) : 0 }
                }
                var driver = ClusterTestClient(
                    name: name, base: cluster.clientURL, requests: workload.requestsPerClient, gaps: gaps, queries: queries, run: run,
                    speedup: speedup, client: http, recorder: recorder)
                driver.poll = Double(workload.pollInterval.nanoseconds) / 1e9 / Double(speedup)
                drivers.append(driver)
            }
            trafficSeconds = Int((drivers.map { $0.gaps.reduce(0, +) }.max() ?? 0).rounded(.up)) + 1
        } else {
            let spread = Double(duration) * 0.8 / Double(requests)
            var queries = [(1, 2, 2), (2, 2, 2), (1, 3, 2), (2, 3, 3)].map {
                Query(taskName: "code_generation", taskDescription: "write and test a function.", nRounds: $0.0, nSamples: $0.1, nVoters: $0.2)
            }
            // A graph too, so prompts carry parents' results for prompt correctness to judge.
            queries[1].graph = TaskGraph(nodes: [
                GraphNode(id: "plan"), GraphNode(id: "code", dependsOn: ["plan"]), GraphNode(id: "tests", dependsOn: ["plan"]),
                GraphNode(id: "review", dependsOn: ["code", "tests"]),
            ])
            for client in 1...clients {
                drivers.append(
                    ClusterTestClient(
                        name: "client-\(client)", base: cluster.clientURL, requests: requests,
                        gaps: (0..<requests).map { _ in Double(random.int64(in: 0...Int64(spread * 2000))) / 1000 }, queries: queries, run: run,
                        speedup: speedup, client: http, recorder: recorder))
            }
        }
        let names = drivers.map(\.name)
        let clients = names.count
        let noFaults = noFaults || parityScenario != nil
        let duration = trafficSeconds
        progress("cluster up in \(folder) (x\(speedup)); \(clients) client(s), \(drivers.map(\.requests).reduce(0, +)) requests over \(duration) s")
        let deadline = ContinuousClock.now + .seconds(duration + liveness)
        let started = drivers
        let clientsDone = Task { await withTaskGroup(of: Void.self) { group in for driver in started { group.addTask { await driver.drive(until: deadline) } } } }

        // Faults, one at a time, on the seeded schedule, until the traffic phase ends.
        let gap = try parseRange(faultGap, "--fault-gap"), length = try parseRange(faultLength, "--fault-length")
        var timeline: [String] = []
        let faultsEnd = ContinuousClock.now + .seconds(duration)
        func draw(_ range: ClosedRange<Double>) -> Double { range.lowerBound + Double(random.int64(in: 0...1000)) / 1000 * (range.upperBound - range.lowerBound) }
        while !noFaults, ContinuousClock.now < faultsEnd {
            try await Task.sleep(for: .milliseconds(Int64(draw(gap) * 1000)))
            guard ContinuousClock.now < faultsEnd else { break }
            let fault = kinds[random.index(below: kinds.count)]
            let seconds = draw(length)
            let at = Double(HistoryLine.now() - start) / 1e9
            timeline.append(String(format: "t=%6.2fs %@ for %.1fs", at, fault.description, seconds))
            progress(timeline.last!)
            try await cluster.inject(fault, for: seconds)
        }
        if ContinuousClock.now < faultsEnd { try await Task.sleep(until: faultsEnd) }
        try cluster.healAll()
        let healAt = HistoryLine.now()
        progress("faults healed; waiting up to \(liveness) s for every client to see its tasks final")

        // Liveness: every request answered and every acknowledged task seen final.
        var converged = false
        while ContinuousClock.now < deadline {
            if await recorder.clientsDone == clients, await recorder.open == 0 {
                converged = true
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        clientsDone.cancel()
        _ = await clientsDone.result
        try await http.shutdown()
        let end = HistoryLine.now()
        let crashed = cluster.stopAll()

        // The verdict: the simulator's checkers over the merged history and the final store.
        var history = ClusterHistory()
        for file in cluster.historyFiles { try history.add(file: file) }
        try history.add(calls: cluster.callsFile)
        history.add(await recorder.entries)
        let context = CheckContext(clients: names, healAt: SimInstant(nanoseconds: (healAt - start) * speedup))
        var suite = CheckerSuite(context: context)
        history.check(&suite, start: start, speedup: speedup)
        let store: any TaskStoreBackend = try cluster.storeURL.map { try PostgresTaskStore(url: $0) } ?? TaskStore(path: cluster.storePath)
        suite.audit(try StoreSnapshot(store: store), end: SimInstant(nanoseconds: (end - start) * speedup), includeLiveness: true)
        let verdicts = suite.verdicts
        let violations = suite.violations
        let tasks = try store.allTasks()
        var passed = violations.isEmpty && converged && crashed.isEmpty
        var parityReport: ParityReport?
        if let simulated {
            let realLatencies = await recorder.entries.compactMap { entry -> Double? in
                if case .finished(_, let latency, _) = entry.observation { Double(latency) / 1e9 } else { nil }
            }
            let realMean = realLatencies.isEmpty ? 0 : realLatencies.reduce(0, +) / Double(realLatencies.count)
            let simulatedMean = Double(simulated.latencyMean ?? 0) / 1e9
            let ratio = simulatedMean > 0 ? realMean / simulatedMean : 0
            let agree = abs(ratio - 1) <= tolerance
            parityReport = ParityReport(
                scenario: parityScenario!.name, simulatedPassed: simulated.passed, simulatedChecks: simulated.checks, simulatedMean: simulatedMean,
                realMean: realMean, ratio: ratio, tolerance: tolerance, agree: agree)
            passed = passed && simulated.passed && agree
        }
        let report = ClusterTestReport(
            seed: seed, speedup: speedup, durationSeconds: duration, faults: timeline, requests: drivers.map(\.requests).reduce(0, +),
            acknowledged: await recorder.acknowledged, finished: await recorder.finished, taskRows: tasks.count,
            completed: tasks.filter { $0.status == .completed }.count, aborted: tasks.filter { $0.status == .aborted }.count,
            network: networkLine, historyEvents: history.events.count, messageEvents: history.messages, converged: converged, crashedProcesses: crashed, checks: verdicts, violations: violations,
            parity: parityReport, passed: passed, folder: folder)
        if json { printJSON(report) } else { report.print() }
        if passed, keep == nil { try? FileManager.default.removeItem(atPath: folder) }
        if !passed { throw ExitCode(ExitStatus.failed) }
    }
}

struct ClusterTestReport: Encodable {
    let seed: UInt64
    let speedup: Int64
    let durationSeconds: Int
    let faults: [String]
    let requests: Int
    let acknowledged: Int
    let finished: Int
    let taskRows: Int
    let completed: Int
    let aborted: Int
    let network: String
    let historyEvents: Int
    /// Traced message facts (sends, deliveries, losses and starts of the LLM work family).
    let messageEvents: Int
    let converged: Bool
    let crashedProcesses: [String]
    let checks: [CheckVerdict]
    let violations: [Violation]
    let parity: ParityReport?
    let passed: Bool
    let folder: String

    func print() {
        Swift.print("cluster-test: seed \(seed), x\(speedup), \(durationSeconds) s of traffic, \(faults.count) fault(s)")
        Swift.print("rerun: agentos cluster-test --seed \(seed) --speedup \(speedup) " + (parity.map { "--parity \($0.scenario)" } ?? "--duration \(durationSeconds)"))
        Swift.print("requests: \(requests), acknowledged \(acknowledged), seen final \(finished); task rows \(taskRows) (\(completed) completed, \(aborted) aborted)")
        Swift.print("network: \(network)")
        Swift.print("history: \(historyEvents) events from the roles, the fake LLM and the clients (\(messageEvents) of them message traffic)")
        Swift.print("liveness: \(converged ? "converged" : "did not converge")")
        if !crashedProcesses.isEmpty { Swift.print("processes that died on their own: \(crashedProcesses.joined(separator: ", "))") }
        printChecks(checks, violations: violations)
        if let parity {
            Swift.print("parity with the simulator (scenario \(parity.scenario), same seed, arrivals and topology, no faults):")
            let simulatedFailed = parity.simulatedChecks.filter { !$0.passed }.map(\.name)
            Swift.print("  simulated: \(parity.simulatedPassed ? "pass" : "FAIL (\(simulatedFailed.joined(separator: ", ")))"), checks \(parity.simulatedChecks.filter(\.passed).count) of \(parity.simulatedChecks.count)")
            Swift.print(String(format: "  mean latency: simulated %.1f s, real %.1f s, real/sim %.2f (tolerance ±%.0f %%): %@", parity.simulatedMean, parity.realMean, parity.ratio, parity.tolerance * 100, parity.agree ? "agree" : "DISAGREE"))
        }
        Swift.print(passed ? "result: PASS" : "result: FAIL (logs and histories kept in \(folder))")
    }
}

/// The simulator's side of a parity run.
struct ParityReport: Encodable {
    let scenario: String
    let simulatedPassed: Bool
    let simulatedChecks: [CheckVerdict]
    let simulatedMean: Double
    let realMean: Double
    let ratio: Double
    let tolerance: Double
    let agree: Bool
}

/// The four processes of the cluster under test, and the faults that can hit them.
final class ClusterUnderTest {
    /// `a` hosts the store, the gateway and the regions; `b` and `c` two proxies each; `llm` the fake LLM.
    enum Fault: CustomStringConvertible {
        case kill(String)
        case pause(String)
        /// The process's only network link cut, both ways (network namespaces only).
        case partition(String)

        static let all: [Fault] =
            [.kill("a"), .kill("b"), .kill("c"), .pause("a"), .pause("b"), .pause("c"), .pause("llm")]
            + ClusterNetwork.processes.map { .partition($0) }

        /// The kinds a network can inject: partitions need namespaces.
        static func available(on network: ClusterNetwork) -> [Fault] { all.filter { network.partitions || !$0.isPartition } }

        var isPartition: Bool {
            if case .partition = self { true } else { false }
        }

        init?(name: String) {
            guard let fault = Self.all.first(where: { $0.name == name }) else { return nil }
            self = fault
        }

        var name: String {
            switch self {
            case .kill(let process): "kill-\(process)"
            case .pause(let process): "pause-\(process)"
            case .partition(let process): "partition-\(process)"
            }
        }

        var description: String {
            switch self {
            case .kill(let name): "SIGKILL + restart \(name)"
            case .pause(let name): "SIGSTOP + SIGCONT \(name)"
            case .partition(let name): "partition \(name) from everyone"
            }
        }
    }

    let folder: String
    let processes: [String: ChildProcess]
    let clientURL: String
    let historyFiles: [String]
    /// The fake LLM's log of the labelled calls it answered.
    let callsFile: String
    let storePath: String
    /// The PostgreSQL store's URL, if the store runs there.
    let storeURL: String?
    let network: ClusterNetwork

    /// `llmConfig`: the fake LLM's configuration as JSON (default: realistic latencies, no faults).
    init(
        folder: String, speedup: Int64, seed: UInt64, plantedBug: String?, llmConfig: String? = nil, network: ClusterNetwork = .loopback,
        storeURL: String? = nil, rolePlane: RolePlane = .tls
    ) throws {
        self.folder = folder
        self.network = network
        self.storeURL = storeURL
        // Through the environment, so the password stays out of the process list; only the
        // process hosting the store role opens it.
        if let storeURL { setenv("AGENTOS_STORE_URL", storeURL, 1) }
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        let secret = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
        try secret.write(toFile: path("secret"), atomically: true, encoding: .utf8)
        chmod(path("secret"), 0o600)
        // The LLM: realistic latencies, no content faults (the real run keeps no call records,
        // so a malformed-answer abort could not be justified from its history).
        let llmConfig = llmConfig ?? #"{"profile": "perfect", "latency": {"firstTokenNanos": {"min": 50000000, "max": 150000000}, "perTokenNanos": {"min": 20000000, "max": 30000000}, "generationTokens": {"min": 150, "max": 400}, "votingTokens": {"min": 40, "max": 120}, "tailChance": [1, 50], "tailFactor": 3}}"#
        try llmConfig.write(toFile: path("llm.json"), atomically: true, encoding: .utf8)
        // On loopback every listener needs its own free port; in namespaces each process has its
        // own address, so the ports can be fixed.
        func port(_ fixed: Int, _ process: String) throws -> Int { network.partitions ? fixed : try freePort(host: network.host(of: process)) }
        func url(_ process: String, _ port: Int) -> String { "http://\(network.host(of: process)):\(port)" }
        let llmPort = try port(8000, "llm")
        let llm = try ChildProcess(
            name: "fake-llm",
            arguments: [
                "fake-llm", "--host", network.host(of: "llm"), "--port", String(llmPort), "--config", path("llm.json"), "--speedup", String(speedup),
                "--seed", String(seed), "--history", path("history-llm.jsonl"),
            ],
            readyMarker: "listening on", log: path("fake-llm.log"), launcher: network.launcher(for: "llm"))
        let planePorts = try ["a", "b", "c"].map { try (name: $0, port: port(8001, $0)) }
        let plane = planePorts.map { url($0.name, $0.port) }
        var urls = ["store": plane[0], "gateway": plane[0], "region-1": plane[0], "region-2": plane[0], "fake-llm": url("llm", llmPort)]
        for proxy in ["proxy-1-1", "proxy-2-1"] { urls[proxy] = plane[1] }
        for proxy in ["proxy-1-2", "proxy-2-2"] { urls[proxy] = plane[2] }
        let layout: [String: Any] = ["regions": 2, "proxiesPerRegion": 2, "urls": urls, "scheduling": "fifo", "balancing": "least_loaded", "voting": "naive"]
        try JSONSerialization.data(withJSONObject: layout, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path("cluster.json")))
        let authentication: [String]
        switch rolePlane {
        case .tls:
            let written = try JSONDecoder().decode(ClusterLayout.self, from: Data(contentsOf: URL(fileURLWithPath: path("cluster.json"))))
            try ClusterCertificates.initialize(directory: path("certs"), layout: written, days: 1)
            authentication = ["--tls-dir", path("certs")]
        case .secret:
            authentication = ["--role-secret-file", path("secret")]
        }
        let roles = ["a": "store,gateway,region-1,region-2", "b": "proxy-1-1,proxy-2-1", "c": "proxy-1-2,proxy-2-2"]
        var processes: [String: ChildProcess] = ["llm": llm]
        var clientPort = 0
        for (index, name) in ["a", "b", "c"].enumerated() {
            let publicPort = try port(8000, name)
            if index == 0 { clientPort = publicPort }
            var arguments = [
                "serve", "--cluster", path("cluster.json")] + authentication + ["--roles", roles[name]!, "--host", network.host(of: name),
                "--port", String(publicPort), "--data-dir", path("data"), "--speedup", String(speedup), "--history", path("history-\(name).jsonl"),
                "--log-level", "notice",
            ]
            if let plantedBug { arguments += ["--planted-bug", plantedBug] }
            processes[name] = try ChildProcess(
                name: name, arguments: arguments, readyMarker: "agentos serving", log: path("serve-\(name).log"), launcher: network.launcher(for: name))
        }
        self.processes = processes
        clientURL = url("a", clientPort)
        historyFiles = ["a", "b", "c"].map { path("history-\($0).jsonl") }
        callsFile = path("history-llm.jsonl")
        storePath = (path("data") as NSString).appendingPathComponent("agentos.sqlite")
    }

    /// How the role planes authenticate each other.
    enum RolePlane: String, ExpressibleByArgument, Sendable {
        case tls
        case secret
    }

    /// Applies a fault for `seconds`, then undoes it.
    func inject(_ fault: Fault, for seconds: Double) async throws {
        switch fault {
        case .kill(let name):
            processes[name]!.killNow()
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            try processes[name]!.restart()
        case .pause(let name):
            processes[name]!.signal(SIGSTOP)
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            processes[name]!.signal(SIGCONT)
        case .partition(let name):
            try network.setLink(of: name, up: false)
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            try network.setLink(of: name, up: true)
        }
    }

    /// Every process running, resumed and connected.
    func healAll() throws {
        if network.partitions { for name in ClusterNetwork.processes { try network.setLink(of: name, up: true) } }
        for process in processes.values {
            process.signal(SIGCONT)
            if !process.isRunning { try process.restart() }
        }
    }

    /// Stops everything gracefully; returns the processes that had died without being killed.
    func stopAll() -> [String] {
        let dead = processes.filter { !$0.value.isRunning }.map(\.key).sorted()
        for process in processes.values { process.stop() }
        return dead
    }
}
