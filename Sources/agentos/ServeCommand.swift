import ArgumentParser
import ClusterTest
import Core
import FakeLLM
import Foundation
import Logging
import PostgresStore
import Server

extension SchedulingPolicy: ExpressibleByArgument {}
extension BalancingPolicy: ExpressibleByArgument {}
extension CheckpointPolicy: ExpressibleByArgument {}
extension VotingPolicy: ExpressibleByArgument {}

/// Runs the coordination core for real, over HTTP.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the cluster for real: gateway, regions, proxies, SQLite store and the fake LLM, over HTTP.",
        discussion: """
            With no flags, one process runs a whole small cluster on loopback: 2 regions x 2 proxies, a SQLite \
            file under --data-dir, and the fake LLM (realistic profile), serving the seed's client API \
            (POST /query, GET /task/status?task_id=N) on --port. Its roles talk in process. To split the roles \
            over processes, give every process the same --cluster file (role -> role-plane URL), its own --roles \
            and --port, and the cluster's certificates (--tls-dir, from `agentos certs init`: mutual TLS) or its \
            secret (--role-secret-file or AGENTOS_ROLE_SECRET: HMAC-signed requests): role-to-role traffic then \
            runs on each process's role-plane port.
            """
    )

    @Option(help: "Address to bind (loopback unless told otherwise).")
    var host = "127.0.0.1"

    @Option(help: "Port of the public listener: client API, fake LLM, /ready, /metrics (0 picks a free one).")
    var port: Int = 8000

    @Option(help: "Regions (single-process mode).")
    var regions = ClusterSpec.serveDefault.regions

    @Option(help: "Proxies per region (single-process mode).")
    var proxies = ClusterSpec.serveDefault.proxiesPerRegion

    @Option(help: "A cluster file (JSON: regions, proxiesPerRegion, urls {role: base URL}, policies).")
    var cluster: String?

    @Option(help: "Comma-separated roles this process hosts (store, gateway, region-R, proxy-R-P, fake-llm); default all.")
    var roles: String?

    @Option(help: "Directory of the SQLite store.")
    var dataDir = "agentos-data"

    @Option(help: "A PostgreSQL store instead of SQLite: postgres://user:password@host:5432/database?sslmode=disable|prefer|require (default: the AGENTOS_STORE_URL environment variable, which keeps the password out of the process list; else SQLite under --data-dir).")
    var store: String?

    @Option(
        name: .customLong("llm-url"),
        help: "An OpenAI-compatible chat-completions URL for the proxies (default: the embedded fake LLM). Repeat it for several endpoints (llm-1, llm-2, ...): each proxy starts at its own and falls back to the others; a cluster file says how many with `llmEndpoints`.")
    var llmURLs: [String] = []

    @Option(help: "The model name sent to the LLM.")
    var llmModel = "fake-llama-3.1-8b"

    @Option(help: "Environment variable holding the LLM API key (read only with --llm-url; never logged).")
    var llmKeyEnv = "OPENAI_API_KEY"

    @Option(help: "Run the whole cluster this many times faster: the roles' clocks and timers and the fake LLM's delays (for tests and demos).")
    var speedup: Int64 = 1

    @OptionGroup var fake: FakeLLMOptions

    @OptionGroup var listener: ListenerOptions

    @Option(help: "LLM queue scheduling.") var scheduling = SchedulingPolicy.fifo
    @Option(help: "Load balancing.") var balancing = BalancingPolicy.leastLoaded
    @Option(help: "Voting.") var voting = VotingPolicy.naive
    @Option(help: "What task owners save while a task runs: per-round, per-node or none (default per-round).") var checkpoints: CheckpointPolicy?

    @Option(help: "A file holding the cluster's role-plane secret (16+ bytes); default: the AGENTOS_ROLE_SECRET environment variable.")
    var roleSecretFile: String?

    @Option(help: "Mutual TLS on the role plane: the directory `agentos certs init` wrote (the cluster CA, this process's certificate and key).")
    var tlsDir: String?

    @Option(help: "Admission control: unfinished tasks the cluster holds before /query answers 503 with Retry-After.")
    var openTasksMax: Int?

    @Option(help: "LLM calls each proxy's worker makes at once (default 4).")
    var workerConcurrency: Int?

    @Option(help: "Calls each proxy's worker queues beyond the running ones (default 64).")
    var workerQueue: Int?

    @Option(help: "Append every role observation to this file as JSON lines (what `agentos cluster-test` checks).")
    var history: String?

    @Option(help: ArgumentHelp("Record every LLM call the proxies make (the canonical request, the answer, the latency; never a key or a header) under DIR, as a cassette.", valueName: "DIR"))
    var record: String?

    @Option(help: "The most megabytes a recording keeps (in 4 rotated files; the oldest goes first).")
    var recordMaxMb = 64

    @OptionGroup var cassette: CassetteOptions

    @Option(help: .hidden) var plantedBug: String?
    /// A planted core bug (`bench find --list`), run in this process's roles as the simulator
    /// runs it (`cluster-test --plant`, `replay-real`).
    @Option(help: .hidden) var plant: String?
    /// cluster-test's clock faults: a file holding `OFFSET_MS RATE`, polled and applied to this
    /// process's clocks (`ClockSkew`).
    @Option(help: .hidden) var clockControl: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535, got \(port)") }
        guard (1...8).contains(regions) else { throw ValidationError("--regions must be between 1 and 8, got \(regions)") }
        guard llmURLs.count <= 8 else { throw ValidationError("at most 8 --llm-url endpoints, got \(llmURLs.count)") }
        for url in llmURLs where !["http", "https"].contains(URL(string: url)?.scheme ?? "") {
            throw ValidationError("--llm-url must be an http(s) URL, got '\(url)'")
        }
        guard (1...16).contains(proxies) else { throw ValidationError("--proxies must be between 1 and 16, got \(proxies)") }
        if let openTasksMax, openTasksMax < 1 { throw ValidationError("--open-tasks-max must be at least 1, got \(openTasksMax)") }
        if let workerConcurrency, !(1...64).contains(workerConcurrency) {
            throw ValidationError("--worker-concurrency must be between 1 and 64, got \(workerConcurrency)")
        }
        if let workerQueue, !(1...100_000).contains(workerQueue) { throw ValidationError("--worker-queue must be between 1 and 100000, got \(workerQueue)") }
        if let plantedBug, PlantedBug(rawValue: plantedBug) == nil { throw ValidationError("unknown --planted-bug '\(plantedBug)'") }
        guard speedup >= 1 else { throw ValidationError("--speedup must be at least 1") }
        guard (1...65536).contains(recordMaxMb) else { throw ValidationError("--record-max-mb must be between 1 and 65536, got \(recordMaxMb)") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
    }

    func run() async throws {
        var logger = Logger(label: "agentos")
        logger.logLevel = Logger.Level(rawValue: logLevel)!
        let fakeConfig = try fake.resolve()
        if let clockControl {
            if let text = try? String(contentsOfFile: clockControl, encoding: .utf8) { ClockSkew.shared.apply(control: text) }
            ClockSkew.shared.follow(controlFile: clockControl)
        }

        var layout: ClusterLayout
        var bindPort = port
        if let cluster {
            layout = try loadJSON(ClusterLayout.self, path: cluster, what: "cluster file")
        } else {
            if bindPort == 0 { bindPort = try freePort(host: host) }
            let spec = ClusterSpec(
                regions: regions, proxiesPerRegion: proxies, llmEndpoints: max(1, llmURLs.count), scheduling: scheduling, balancing: balancing,
                voting: voting, checkpoints: ClusterSpec.serveDefault.checkpoints)
            layout = ClusterLayout.singleProcess(spec, url: "http://\(host):\(bindPort)")
        }
        if let openTasksMax { layout.spec.openTasksMax = openTasksMax }
        if let workerConcurrency { layout.spec.workerConcurrency = workerConcurrency }
        if let workerQueue { layout.spec.workerQueue = workerQueue }
        if let checkpoints { layout.spec.checkpoints = checkpoints }
        if let problem = layout.problem() { throw CLIError(cluster.map { "cluster file '\($0)': \(problem)" } ?? problem) }
        let hosted = roles.map(Address.list) ?? layout.roleNames + [.fakeLLM]
        let auth: RolePlaneAuth?
        do {
            auth = try RolePlaneAuth.load(file: roleSecretFile, environment: "AGENTOS_ROLE_SECRET")
        } catch let error as ServeError {
            throw CLIError(error.description)
        }
        let tls: RolePlaneTLS?
        do {
            tls = try tlsDir.map { try RolePlaneTLS.load(directory: $0, roles: hosted) }
        } catch let error as ServeError {
            throw CLIError(error.description)
        }
        let limits = listener.limits
        let key = llmURLs.isEmpty ? nil : ProcessInfo.processInfo.environment[llmKeyEnv]
        var options = ServeOptions(
            host: host, port: bindPort, layout: layout, roles: hosted, dataDirectory: dataDir, llmURLs: llmURLs, llmModel: llmModel,
            llmKey: key, fakeLLM: fakeConfig, fakeLLMSeed: fake.seed, speedup: speedup, auth: auth, limits: limits)
        options.historyPath = history
        if let record {
            do { options.recorder = try LLMRecorder(directory: record, bytesMax: recordMaxMb << 20) } catch let error as ServeError { throw CLIError(error.description) }
        }
        if let recorded = try cassette.load(), let directory = cassette.cassette {
            try liveCassette(recorded, directory: directory)
            options.cassette = recorded
        }
        options.tls = tls
        options.storeURL = store ?? ProcessInfo.processInfo.environment["AGENTOS_STORE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let url = options.storeURL {
            do { _ = try PostgresURL(url) } catch { throw CLIError("--store: \(error)") }
        }
        options.publicMiddleware = plantedBug.flatMap(PlantedBug.init(rawValue:)).map { [$0.middleware] } ?? []
        if let plant {
            options.roleFactory = try shellPlantedFactory(plant)
        }
        let hostName = host
        let hostedRoles = hosted
        do {
            try await ServeHost.run(options, logger: logger) { ready in
                let plane = ready.rolePlanePort.map { " (role plane http://\(hostName):\($0))" } ?? ""
                let text = "agentos serving \(hostedRoles.map(\.name).joined(separator: ",")) on http://\(hostName):\(ready.port)\(plane)\n"
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        } catch let error as ServeError {
            throw CLIError(error.description)
        }
    }
}
