import ArgumentParser
import Checks
import ClusterTest
import FakeLLM
import Foundation
import Scenarios
import Server

/// A Jepsen-style test of the real shell: a real cluster of `agentos serve` processes on this
/// machine, real clients, real faults on a seeded schedule, and the simulator's own checkers
/// over the recorded history.
struct ClusterTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-test",
        abstract: "Run a real multi-process cluster under real faults (SIGKILL, SIGSTOP) and judge its history with the same checkers as simulated runs.",
        discussion: """
            Starts four processes (in network namespaces where the machine allows, else on loopback): the store, \
            gateway and regions; two processes of two proxies each; and the fake LLM. The role planes authenticate \
            each other with mutual TLS from a fresh cluster CA (or, with --role-plane secret, a fresh cluster \
            secret). Clients send queries with idempotency keys and poll \
            them; every --fault-gap seconds a seeded fault hits: a process killed (SIGKILL) and restarted, or \
            paused (SIGSTOP) and resumed, the fake LLM included. After --duration the faults stop, every process \
            is brought back, and the run waits for every client to see its tasks final. Every role records its \
            observations (store writes with their epochs, claims, fences, acknowledgements, the messages it sent \
            and took) and the clients record what they saw; the same checkers that judge simulated runs (the \
            Checks module) judge the merged history and the store's final rows. The fake LLM logs every call \
            with the task and node the shell labelled it with, so prompt correctness judges what prompts really \
            carried and call accounting matches every call to an answer. `agentos check DIR` judges a kept \
            folder again. Exit status: 0 pass, 1 an invariant was violated or the cluster failed, 2 bad input.
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
    @Option(
        help:
            "The fault kinds to draw from, comma-separated: \(ClusterUnderTest.Fault.all.map(\.name).joined(separator: ", ")) (default: every kind the network allows; partitions need namespaces, link faults (delay, loss, one-way, splits, flapping) nftables too; only by name: kill-all, every process at once and a cold restart, and disk-full, the SQLite store's own small filesystem filled, which needs root)."
    )
    var faults: String?
    @Option(
        help:
            "Where the processes run: namespaces (one Linux network namespace each, so partitions are real; needs root and iproute2), loopback, or auto (namespaces where the machine allows them)."
    )
    var network = NetworkMode.auto
    @Option(
        help:
            "Run the store on this PostgreSQL database (postgres://...) instead of SQLite; the audit reads it there. The processes then run on loopback, where the server is reachable."
    )
    var store: String?
    /// Set by the outer run that created the namespaces and re-ran the test inside the hub.
    @Option(help: .hidden) var insideNamespaces: String?
    @Option(help: "Seconds the run may take after the faults stop for every client to see its tasks final.") var liveness = 120
    @Option(help: "Keep the processes' data, logs and histories here (default: a temporary folder, removed on success).")
    var keep: String?
    @Option(help: .hidden) var plantedBug: String?
    /// A planted core bug for every serve process's roles (`serve --plant`).
    @Option(help: .hidden) var plant: String?
    @Option(
        help: ArgumentHelp(
            "Record the run under DIR: each proxy process's LLM calls as cassettes, the clients' arrivals and requests, the faults as they struck, every history and the final store (never a key or secret); `agentos check DIR` judges it again.",
            valueName: "DIR"))
    var record: String?
    @Flag(
        help:
            "Also replay the run in the simulator (from its recording) and compare the two side by side: each checker's verdict, latency mean, p50, p99 and the two distributions' distance, throughput, recovery after each fault; pass only if they agree (the reality gap at most --gap-threshold)."
    )
    var compareSim = false
    @Option(help: "With --compare-sim, the largest reality gap (0...1) at which the real cluster and the simulator agree.")
    var gapThreshold = RealityGapReport.thresholdDefault
    @Option(
        help:
            "Parity: run this scenario's workload (a name or a file) both in the simulator and on the real cluster, on the real cluster's topology with the scenario's LLM minus its content faults, with the same arrivals and no faults; pass only if both pass the checkers and their mean latencies agree within --tolerance."
    )
    var parity: String?
    @Option(help: "Parity: the largest relative difference allowed between the real and the simulated mean latency.")
    var tolerance = 0.35
    @Option(
        help:
            "How the processes' role planes authenticate each other: tls (mutual TLS with a fresh cluster CA, `agentos certs`) or secret (HMAC-signed requests with a fresh cluster secret)."
    )
    var rolePlane = ClusterUnderTest.RolePlane.tls
    @Flag(help: "Print the verdict as JSON.") var json = false

    func parseRange(_ text: String, _ flag: String) throws -> ClosedRange<Double> {
        let parts = text.split(separator: "-").compactMap { Double($0) }
        guard parts.count == 2, parts[0] > 0, parts[0] <= parts[1] else {
            throw ValidationError("\(flag) must be MIN-MAX seconds with 0 < MIN <= MAX, got '\(text)'")
        }
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
            throw ValidationError("unknown fault kind '\(kind)' (known: \(ClusterUnderTest.Fault.named.map(\.name).joined(separator: ", ")))")
        }
        if let plantedBug, PlantedBug(rawValue: plantedBug) == nil { throw ValidationError("unknown --planted-bug '\(plantedBug)'") }
        if compareSim, parity != nil {
            throw ValidationError("--compare-sim replays the run itself; --parity runs a scenario's workload instead: give one of them")
        }
        guard (0...1).contains(gapThreshold) else { throw ValidationError("--gap-threshold must be in 0...1, got \(gapThreshold)") }
        // A recording is one run: the serve processes append to the cassettes they find, so
        // an earlier run's files would mix into this one's.
        if let record, let contents = try? FileManager.default.contentsOfDirectory(atPath: record), !contents.isEmpty {
            throw ValidationError(
                "--record \(record): the directory already holds files (\(contents.sorted().prefix(3).joined(separator: ", "))); give a new or empty one")
        }
        if let plant {
            do { _ = try shellPlantedFactory(plant) } catch let error as CLIError { throw ValidationError(error.message) }
        }
    }

    /// The parity scenario, by name or file, as written (`ClusterTest` reshapes it).
    func parityScenario() throws -> Scenario? {
        guard let parity else { return nil }
        if FileManager.default.fileExists(atPath: parity) { return try loadJSON(Scenario.self, path: parity, what: "scenario file") }
        return try ScenarioLibrary.scenario(named: parity, seed: seed)
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
        if kinds.contains(.diskFull) {
            if store != nil { throw CLIError("disk-full fills the SQLite store's data directory; it does not apply to a PostgreSQL store") }
            if geteuid() != 0 { throw CLIError("disk-full mounts a small filesystem for the store, which needs root") }
        }
        if let link = kinds.first(where: { $0.isLinkFault }), !network.linkFaults {
            throw CLIError("\(link.name) needs nftables' `nft` in the cluster's namespaces (Debian: apt-get install nftables)")
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
        var options = ClusterTestOptions(
            folder: keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("agentos-cluster-test-\(getpid())").path)
        options.duration = duration
        options.seed = seed
        options.speedup = speedup
        options.clients = clients
        options.requestsPerClient = requests
        options.faultGap = try parseRange(faultGap, "--fault-gap")
        options.faultLength = try parseRange(faultLength, "--fault-length")
        options.faultKinds = noFaults ? [] : kinds
        options.liveness = liveness
        options.plantedBug = plantedBug
        options.plantedCoreBug = plant  // checked in validate()
        options.storeURL = store
        options.rolePlane = rolePlane
        options.parity = try parityScenario()
        options.tolerance = tolerance
        options.recordDirectory = record.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        if compareSim, options.recordDirectory == nil { options.recordDirectory = (options.folder as NSString).appendingPathComponent("recording") }
        let quiet = json
        var report: ClusterTestReport
        do {
            report = try await ClusterTest.run(options, network: clusterNetwork, loopbackReason: loopbackReason) { line in
                if !quiet { FileHandle.standardError.write(Data("cluster-test: \(line)\n".utf8)) }
            }
        } catch let error as ClusterTestError {
            throw CLIError(error.description)
        }
        var passed = report.passed
        if compareSim, let directory = options.recordDirectory {
            report.realityGap = try compareWithSimulator(directory, realChecks: report.checks)
            passed = passed && report.realityGap!.agree
        }
        if json { printJSON(report) } else { report.print(faults: noFaults ? nil : faults) }
        if passed, keep == nil { try? FileManager.default.removeItem(atPath: report.folder) }
        if !passed { throw ExitCode(ExitStatus.failed) }
    }

    /// The recorded run replayed in the simulator, with the real run's planted core bug and its
    /// recorded LLM answers (the generator answers the rest), compared with the real run.
    func compareWithSimulator(_ directory: String, realChecks: [CheckVerdict]) throws -> RealityGapReport {
        do {
            let replay = try RealRunReplay.load(directory)
            let runner = try ScenarioRun(
                scenario: replay.scenario, seed: replay.summary.seed, overrides: try plantedOverrides(replay.summary.plantedCoreBug),
                cassette: Cassette(entries: replay.cassetteEntries, mode: .fallback))
            let simulated = try runner.execute()
            return try RealityGapReport.compare(
                recording: directory, realChecks: realChecks, replay: replay, simulated: runner, report: simulated, threshold: gapThreshold)
        } catch let error as ClusterTestError {
            throw CLIError(error.description)
        }
    }

    /// Creates the namespaces, runs this same command inside the hub namespace, passes its output
    /// and exit status through, and removes the namespaces whatever happens.
    func runInsideNamespaces() throws {
        let network: ClusterNetwork
        do { network = try ClusterNetwork.create() } catch let error as ClusterTestError { throw CLIError(error.description) }
        defer { network.remove() }
        let inner = Process()
        inner.executableURL = URL(fileURLWithPath: ClusterNetwork.ipTool!)
        inner.arguments =
            ["netns", "exec", "\(network.prefix!)-hub", ChildProcess.binary.path] + CommandLine.arguments.dropFirst()
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
}

extension ClusterUnderTest.RolePlane: ExpressibleByArgument {}

extension ClusterTestReport {
    /// `faults`: the kinds the run was asked to draw from, which its rerun line must name too.
    func print(faults kinds: String? = nil) {
        Swift.print("cluster-test: seed \(seed), x\(speedup), \(durationSeconds) s of traffic, \(faults.count) fault(s)")
        Swift.print(
            "rerun: agentos cluster-test --seed \(seed) --speedup \(speedup) " + (parity.map { "--parity \($0.scenario)" } ?? "--duration \(durationSeconds)")
                + (kinds.map { " --faults \($0)" } ?? ""))
        Swift.print(
            "requests: \(requests), acknowledged \(acknowledged), seen final \(finished); task rows \(taskRows) (\(completed) completed, \(aborted) aborted)")
        Swift.print("network: \(network)")
        Swift.print("history: \(historyEvents) events from the roles, the fake LLM and the clients (\(messageEvents) of them message traffic)")
        Swift.print("liveness: " + (recoverySeconds.map { String(format: "converged %.1f s after the heal", $0) } ?? "did not converge"))
        if !crashedProcesses.isEmpty { Swift.print("processes that died on their own: \(crashedProcesses.joined(separator: ", "))") }
        printChecks(checks, violations: violations)
        if let realityGap {
            for line in realityGap.lines { Swift.print(line) }
            Swift.print("compare-sim: \(realityGap.agree ? "PASS" : "FAIL"), the real cluster and the simulator \(realityGap.agree ? "agree" : "disagree")")
        }
        if let parity {
            Swift.print("parity with the simulator (scenario \(parity.scenario), same seed, arrivals and topology, no faults):")
            let simulatedFailed = parity.simulatedChecks.filter { !$0.passed }.map(\.name)
            Swift.print(
                "  simulated: \(parity.simulatedPassed ? "pass" : "FAIL (\(simulatedFailed.joined(separator: ", ")))"), checks \(parity.simulatedChecks.filter(\.passed).count) of \(parity.simulatedChecks.count)"
            )
            Swift.print(
                String(
                    format: "  mean latency: simulated %.1f s, real %.1f s, real/sim %.2f (tolerance ±%.0f %%): %@", parity.simulatedMean, parity.realMean,
                    parity.ratio, parity.tolerance * 100, parity.agree ? "agree" : "DISAGREE"))
        }
        Swift.print(passed ? "result: PASS" : "result: FAIL (logs and histories kept in \(folder))")
    }
}
