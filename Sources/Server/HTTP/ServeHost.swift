import Core
import PostgresStore
import FakeLLM
import Foundation
import Hummingbird
import HTTPTypes
import ServiceLifecycle
import Logging
import NIOCore

/// What one `agentos serve` process runs.
public struct ServeOptions: Sendable {
    public var host: String
    /// The public listener: the client API (if this process hosts the gateway), the fake LLM
    /// (if it hosts `fake-llm`), `/ready` and `/metrics`.
    public var port: Int
    public var layout: ClusterLayout
    /// The roles this process hosts; `fake-llm` adds the embedded fake LLM.
    public var roles: [Address]
    public var dataDirectory: String
    /// A PostgreSQL store (`postgres://user:password@host:port/db?sslmode=...`); nil: the SQLite
    /// file under `dataDirectory`. Never logged with its password.
    public var storeURL: String?
    /// Chat-completions URL; nil means the cluster's `fake-llm` process.
    public var llmURL: String?
    public var llmModel: String
    /// The API key, read from the environment by the caller; never logged.
    public var llmKey: String?
    public var fakeLLM: FakeLLMConfig
    public var fakeLLMSeed: UInt64
    public var speedup: Int64
    public var bodyLimit: Int
    /// The cluster secret for the role plane; required when roles live in other processes.
    public var auth: RolePlaneAuth?
    public var limits: ListenerLimits
    /// Where the roles append what they observe (`agentos cluster-test` reads it); nil: nowhere.
    public var historyPath: String?
    /// A deliberately planted real-shell bug, for showing that `cluster-test` catches what the
    /// simulator cannot see. Never set outside tests.
    public var plantedBug: PlantedBug?

    public init(
        host: String, port: Int, layout: ClusterLayout, roles: [Address], dataDirectory: String, llmURL: String?, llmModel: String,
        llmKey: String?, fakeLLM: FakeLLMConfig, fakeLLMSeed: UInt64, speedup: Int64, bodyLimit: Int = 1 << 20, auth: RolePlaneAuth? = nil,
        limits: ListenerLimits = ListenerLimits()
    ) {
        self.host = host
        self.port = port
        self.layout = layout
        self.roles = roles
        self.dataDirectory = dataDirectory
        self.llmURL = llmURL
        self.llmModel = llmModel
        self.llmKey = llmKey
        self.fakeLLM = fakeLLM
        self.fakeLLMSeed = fakeLLMSeed
        self.speedup = speedup
        self.bodyLimit = bodyLimit
        self.auth = auth
        self.limits = limits
    }

    /// Whether some role lives in another process, so this one needs the role plane.
    var needsRolePlane: Bool {
        let hosted = Set(roles)
        return layout.roleNames.contains { !hosted.contains($0) }
    }
}

/// Real-shell bugs `agentos cluster-test` must catch (hidden `serve --planted-bug`).
public enum PlantedBug: String, Sendable, CaseIterable {
    /// The client API drops the client's idempotency key (`request_id`/`Idempotency-Key`), so a
    /// retried query creates a second task. The simulator has no HTTP layer, so it cannot see it.
    case ignoreRequestID = "ignore-request-id"
}

public struct ServeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What a started process tells its caller.
public struct ServeReady: Sendable {
    public let port: Int
    /// The role plane's port, when this process has one.
    public let rolePlanePort: Int?
}

/// Builds and runs one process of the real shell: the roles it hosts, each in its own mailbox;
/// the public listener (client API, fake LLM, `/ready`, `/metrics`); and, when roles are split
/// over processes, the authenticated role-plane listener. Both listeners run as services of one
/// service group, so SIGTERM or SIGINT drains them and stops the roles.
public enum ServeHost {
    public static func run(_ options: ServeOptions, logger: Logger, onReady: @escaping @Sendable (ServeReady) -> Void) async throws {
        if let problem = options.layout.problem() { throw ServeError("cluster layout: \(problem)") }
        let known = Set(options.layout.roleNames + ["fake-llm"])
        for role in options.roles where !known.contains(role) {
            throw ServeError("unknown role '\(role)' (roles: \(options.layout.roleNames.joined(separator: ", ")), fake-llm)")
        }
        var rolePlanePort: Int?
        if options.needsRolePlane {
            guard options.auth != nil else {
                throw ServeError(
                    "roles are split over processes, so the role plane needs the cluster secret: give --role-secret-file FILE or set AGENTOS_ROLE_SECRET")
            }
            guard let port = options.layout.rolePlanePort(for: options.roles) else {
                throw ServeError("the cluster file gives no role-plane URL for this process's roles")
            }
            rolePlanePort = port
        }
        // Unique per start, so claims and idempotency keys of an earlier life are never reused.
        let incarnation = UInt32(truncatingIfNeeded: Int64(Date().timeIntervalSince1970 * 100))
        // The roles' machines first: the store is opened here, and a store that cannot be opened
        // ends the start before any connection or client exists.
        var machines: [Address: any CoreMachine] = [:]
        for role in options.roles where role != "fake-llm" {
            machines[role] = try machine(for: role, options: options, incarnation: incarnation)
        }
        let metrics = ServerMetrics()
        let history = try options.historyPath.map { try HistoryWriter(path: $0) }
        let transport = Transport(
            urls: options.needsRolePlane ? options.layout.urls : [:], auth: options.auth, metrics: metrics, traffic: history.map(TrafficRecorder.init),
            logger: logger)
        // The LLM endpoint the proxies call.
        let llmURL = options.llmURL ?? (options.layout.urls["fake-llm"].map { "\($0)/v1/chat/completions" })
        var llmClient: LLMClient?
        if options.roles.contains(where: { options.layout.region(of: $0) != nil }) {
            guard let llmURL else { throw ServeError("proxies need an LLM: give --llm-url or a fake-llm URL in the cluster") }
            // As wide as every hosted worker's concurrency, plus room for calls still closing.
            let connections = options.layout.proxyNames.count * options.layout.spec.workerConcurrency + 16
            let client = LLMClient(
                url: llmURL, model: options.llmModel, apiKey: options.llmKey, timeout: .seconds(max(5, 300 / options.speedup)), connectionsMax: connections,
                sendsLabels: options.llmURL == nil, metrics: metrics,
                logger: logger)
            client.transport = transport
            transport.register("llm-1", client)
            llmClient = client
        }

        var hosts: [Address: RoleHost] = [:]
        for role in options.roles where role != "fake-llm" {
            let host = RoleHost(
                address: role, incarnation: incarnation, machine: machines[role]!, transport: transport,
                metrics: metrics, logger: logger, speedup: options.speedup, history: history)
            hosts[role] = host
            transport.register(role, host)
        }

        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.get("/ready") { _, _ in
            jsonResponse(.ok, ReadyBody(status: "ready", roles: options.roles.sorted()))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        if hosts["gateway"] != nil {
            let bridge = ClientBridge(address: "client-api-\(incarnation)", transport: transport, metrics: metrics)
            transport.register(bridge.address, bridge)
            GatewayAPI(bridge: bridge, metrics: metrics, bodyLimit: options.bodyLimit, plantedBug: options.plantedBug).register(on: router)
        }
        if options.roles.contains("fake-llm") {
            let calls = try options.historyPath.map { try HistoryWriter(path: ($0 as NSString).deletingPathExtension + "-llm.jsonl") }
            FakeLLMRoutes(live: LiveFakeLLM(config: options.fakeLLM, seed: options.fakeLLMSeed, speedup: options.speedup), speedup: options.speedup, calls: calls)
                .register(on: router, withReady: false)
        }

        let roleHosts = hosts
        let startup = StartupGate(listeners: rolePlanePort == nil ? 1 : 2)
        let boot: @Sendable (StartupGate.Listener, Int) async -> Void = { listener, port in
            guard let ready = await startup.opened(listener, port: port) else { return }
            // The roles start only once this process can take their peers' messages.
            for role in options.layout.roleNames { roleHosts[role]?.boot() }
            onReady(ready)
        }
        // One service group: the listeners, then every role. A graceful shutdown (SIGTERM,
        // SIGINT) goes in reverse order: the roles stop acting first (no new work, no new LLM
        // calls), then the listeners drain what is in flight, for at most 3 s.
        var services: [any Service] = []
        if let rolePlanePort, let auth = options.auth {
            let plane = Router()
            plane.add(middleware: JSONErrorMiddleware())
            RolePlaneRoutes(transport: transport, auth: auth, metrics: metrics, logger: logger).register(on: plane)
            services.append(
                Application(
                    router: plane, server: options.limits.server(), configuration: options.limits.configuration(host: options.host, port: rolePlanePort),
                    onServerRunning: { channel in await boot(.rolePlane, channel.localAddress?.port ?? rolePlanePort) }, logger: logger))
        }
        let app = Application(
            router: router, server: options.limits.server(), configuration: options.limits.configuration(host: options.host, port: options.port),
            onServerRunning: { channel in await boot(.public, channel.localAddress?.port ?? options.port) }, logger: logger)
        services.insert(app, at: 0)
        services += options.layout.roleNames.compactMap { roleHosts[$0] as (any Service)? }
        var configuration = ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(3)
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw ServeError("cannot listen on \(options.host): a port is already in use (public \(options.port)\(rolePlanePort.map { ", role plane \($0)" } ?? ""))")
        }
        for host in roleHosts.values { host.stop() }  // already stopped by the service group; idempotent
        await llmClient?.shutdown()
        await transport.shutdown()
    }

    /// The role's state machine, from the cluster description the simulator builds its roles from.
    public static func machine(for role: Address, options: ServeOptions, incarnation: UInt32) throws -> any CoreMachine {
        let machine = try options.layout.spec.machine(for: role, incarnation: incarnation) { () -> any TaskStoreBackend in
            if let url = options.storeURL {
                do { return try PostgresTaskStore(url: url) } catch { throw ServeError("cannot open the store: \(error)") }
            }
            try FileManager.default.createDirectory(atPath: options.dataDirectory, withIntermediateDirectories: true)
            let path = (options.dataDirectory as NSString).appendingPathComponent("agentos.sqlite")
            do { return try TaskStore(path: path) } catch { throw ServeError("cannot open the store at \(path): \(error)") }
        }
        guard let machine else { throw ServeError("role '\(role)' is not in the layout") }
        return machine
    }
}

/// Boots the roles once every listener of the process is up.
actor StartupGate {
    enum Listener { case `public`, rolePlane }
    private var waiting: Int
    private var ports: [Listener: Int] = [:]

    init(listeners: Int) { waiting = listeners }

    /// The ports, once the last listener opened; nil before (and after, on a restart of one).
    func opened(_ listener: Listener, port: Int) -> ServeReady? {
        guard ports[listener] == nil else { return nil }
        ports[listener] = port
        waiting -= 1
        guard waiting == 0 else { return nil }
        return ServeReady(port: ports[.public] ?? 0, rolePlanePort: ports[.rolePlane])
    }
}

/// The role plane: `POST /v1/core/messages` with a batch of addressed envelopes, signed with
/// the cluster secret. Unsigned, badly signed or stale requests get 401 and change nothing.
struct RolePlaneRoutes {
    let transport: Transport
    let auth: RolePlaneAuth
    let metrics: ServerMetrics
    let logger: Logger
    /// Batches carry up to `Link.batchMax` messages with prompts inside: far above the client API's limit.
    let bodyLimit = 64 << 20

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/v1/core/messages") { request, _ in
            var request = request
            let body: Data
            do {
                body = Data(buffer: try await request.collectBody(upTo: bodyLimit))
            } catch {
                return jsonResponse(.contentTooLarge, APIError(success: false, err: "the body exceeds \(bodyLimit) bytes"))
            }
            let verdict = auth.verify(request.headers[HTTPField.Name(RolePlaneAuth.header)!], body: body, now: RolePlaneAuth.now())
            guard verdict == .valid else {
                metrics.rolePlaneRefused.increment()
                logger.warning("role-plane request refused", metadata: ["verdict": "\(verdict)"])
                return jsonResponse(.unauthorized, APIError(success: false, err: "role-plane requests must carry a valid \(RolePlaneAuth.header)"))
            }
            let batch: [AddressedEnvelope]
            do {
                batch = try JSONDecoder().decode([AddressedEnvelope].self, from: body)
            } catch let error as DecodingError {
                return jsonResponse(.badRequest, APIError(success: false, err: "not a batch of core messages: \(describe(error))"))
            }
            for envelope in batch {
                if transport.hosts(envelope.to) {
                    transport.send(envelope.message, from: envelope.from, to: envelope.to, trace: envelope.trace)
                } else {
                    metrics.dropped(reason: "not_hosted_here")
                }
            }
            return Response(status: .accepted)
        }
    }
}

struct ReadyBody: Encodable {
    let status: String
    let roles: [String]
}

/// The seed's error shape.
struct APIError: Encodable {
    let success: Bool
    let err: String
}
