import Core
import Crypto
import Determinism
import FakeLLM
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import PostgresStore
import SQLiteStore
import ServiceLifecycle

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
    /// Chat-completions URLs, one per LLM endpoint of the cluster (`llm-1` ... in order); empty
    /// means the cluster's `fake-llm` process, as its one endpoint.
    public var llmURLs: [String]
    public var llmModel: String
    /// The API key, read from the environment by the caller; never logged.
    public var llmKey: String?
    public var fakeLLM: FakeLLMConfig
    public var fakeLLMSeed: UInt64
    public var speedup: Int64
    public var bodyLimit: Int
    /// The cluster secret for the role plane (HMAC-signed requests); this or `tls` is required
    /// when roles live in other processes.
    public var auth: RolePlaneAuth?
    /// Mutual TLS for the role plane (`--tls-dir`): certificates of the cluster CA.
    public var tls: RolePlaneTLS?
    public var limits: ListenerLimits
    /// Where the roles append what they observe (`agentos cluster-test` reads it); nil: nowhere.
    public var historyPath: String?
    /// Middleware put in front of the public listener's routes, after its own: where a harness
    /// wraps the client API (`cluster-test` plants an HTTP-level bug this way, to show that it
    /// catches what the simulator cannot see). Empty in normal use.
    public var publicMiddleware: [any MiddlewareProtocol<Request, Response, BasicRequestContext>] = []
    /// Makes the roles' state machines (a harness puts a planted core bug here, the same one
    /// the simulator can run, so a real run and its replay run the same code). `.standard` in
    /// normal use.
    public var roleFactory: RoleFactory {
        get { roleFactoryBox.factory }
        set { roleFactoryBox.factory = newValue }
    }
    private var roleFactoryBox = FactoryBox(factory: .standard)
    /// The factory's closures capture only immutable values (a bug's settings), and are called
    /// while the process builds its roles, before any other task exists.
    struct FactoryBox: @unchecked Sendable { var factory: RoleFactory }
    /// `--record`: where the proxies' LLM calls are recorded as a cassette; nil: nowhere.
    public var recorder: LLMRecorder?
    /// `--cassette`: recorded calls the embedded fake LLM answers from first.
    public var cassette: Cassette?

    public init(
        host: String, port: Int, layout: ClusterLayout, roles: [Address], dataDirectory: String, llmURLs: [String], llmModel: String,
        llmKey: String?, fakeLLM: FakeLLMConfig, fakeLLMSeed: UInt64, speedup: Int64, bodyLimit: Int = 1 << 20, auth: RolePlaneAuth? = nil,
        limits: ListenerLimits = ListenerLimits()
    ) {
        self.host = host
        self.port = port
        self.layout = layout
        self.roles = roles
        self.dataDirectory = dataDirectory
        self.llmURLs = llmURLs
        self.llmModel = llmModel
        self.llmKey = llmKey
        self.fakeLLM = fakeLLM
        self.fakeLLMSeed = fakeLLMSeed
        self.speedup = speedup
        self.bodyLimit = bodyLimit
        self.auth = auth
        self.limits = limits
    }

    /// Whether this process hosts a proxy, so it needs LLM clients.
    var hostsProxies: Bool { roles.contains { layout.region(of: $0) != nil } }

    /// The chat-completions URLs of the cluster's LLM endpoints, `llm-1` first: the given ones,
    /// or the cluster's fake LLM as its one endpoint (none when the cluster has no fake LLM).
    var llmEndpointURLs: [String] {
        llmURLs.isEmpty ? (layout.urls[.fakeLLM].map { ["\($0)/v1/chat/completions"] } ?? []) : llmURLs
    }

    /// Whether some role lives in another process, so this one needs the role plane.
    var needsRolePlane: Bool {
        let hosted = Set(roles)
        return layout.roleNames.contains { !hosted.contains($0) }
    }
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
    /// Role-plane connections open at once from one peer address.
    public static let rolePlaneConnectionsPerPeerMax = 32

    public static func run(_ options: ServeOptions, logger: Logger, onReady: @escaping @Sendable (ServeReady) -> Void) async throws {
        if let problem = options.layout.problem() { throw ServeError("cluster layout: \(problem)") }
        guard !options.roles.isEmpty else { throw ServeError("no roles to host (name them with --roles, or leave it out to host every role)") }
        let known = Set(options.layout.roleNames + [.fakeLLM])
        for role in options.roles where !known.contains(role) {
            throw ServeError("unknown role '\(role)' (roles: \(options.layout.roleNames.map(\.name).joined(separator: ", ")), fake-llm)")
        }
        // Checked before anything that holds a connection pool is made: proxies call every
        // endpoint of the cluster, one URL each (or the fake LLM as the only one).
        if options.hostsProxies {
            let urls = options.llmEndpointURLs
            guard !urls.isEmpty else { throw ServeError("proxies need an LLM: give --llm-url or a fake-llm URL in the cluster") }
            guard urls.count == options.layout.spec.llmEndpoints else {
                throw ServeError(
                    "the cluster has \(options.layout.spec.llmEndpoints) LLM endpoint(s) but \(options.llmURLs.isEmpty ? "no --llm-url (the fake LLM is one)" : "\(urls.count) URL(s)") were given (one --llm-url each)")
            }
        }
        var rolePlanePort: Int?
        if options.needsRolePlane {
            guard options.auth != nil || options.tls != nil else {
                throw ServeError(
                    "roles are split over processes, so the role plane needs the cluster's certificates (--tls-dir DIR) or its secret (--role-secret-file FILE or AGENTOS_ROLE_SECRET)")
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
        for role in options.roles where role != .fakeLLM {
            machines[role] = try machine(for: role, options: options, incarnation: incarnation)
        }
        let metrics = ServerMetrics()
        let history = try options.historyPath.map { try HistoryWriter(path: $0) }
        let clusterDigest = options.layout.digest
        let transport = Transport(
            urls: options.needsRolePlane ? options.layout.urls.mapValues { options.tls == nil ? $0 : ClusterLayout.secured($0) } : [:],
            auth: options.auth, tls: options.tls?.client, clusterDigest: clusterDigest, metrics: metrics, traffic: history.map(TrafficRecorder.init),
            logger: logger)
        // The LLM endpoints the proxies call: `llm-1` ... `llm-N`, one client each.
        var llmClients: [LLMClient] = []
        if options.hostsProxies {
            // As wide as every hosted worker's concurrency, plus room for calls still closing.
            let connections = options.layout.proxyNames.count * options.layout.spec.workerConcurrency + 16
            for (url, address) in zip(options.llmEndpointURLs, options.layout.spec.llmNames) {
                let client = LLMClient(
                    address: address, url: url, model: options.llmModel, apiKey: options.llmKey, timeout: .seconds(max(5, 300 / options.speedup)),
                    connectionsMax: connections, sendsLabels: options.llmURLs.isEmpty, metrics: metrics, logger: logger, recorder: options.recorder,
                    speedup: options.speedup)
                client.transport = transport
                transport.register(address, client)
                llmClients.append(client)
            }
        }

        var hosts: [Address: RoleHost] = [:]
        for role in options.roles where role != .fakeLLM {
            let host = RoleHost(
                address: role, incarnation: incarnation, machine: machines[role]!, transport: transport,
                metrics: metrics, logger: logger, speedup: options.speedup, history: history)
            hosts[role] = host
            transport.register(role, host)
        }

        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        for middleware in options.publicMiddleware { router.add(middleware: middleware) }
        router.on(.ready) { _, _ in
            jsonResponse(.ok, ReadyBody(status: "ready", roles: options.roles.sorted().map(\.name)))
        }
        router.on(.metrics) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        if hosts[.gateway] != nil {
            let bridge = ClientBridge(address: Address("client-api-\(incarnation)"), transport: transport, metrics: metrics)
            transport.register(bridge.address, bridge)
            GatewayAPI(bridge: bridge, metrics: metrics, bodyLimit: options.bodyLimit).register(on: router)
        }
        if options.roles.contains(.fakeLLM) {
            let calls = try options.historyPath.map { try HistoryWriter(path: ($0 as NSString).deletingPathExtension + "-llm.jsonl") }
            FakeLLMRoutes(
                live: LiveFakeLLM(config: options.fakeLLM, seed: options.fakeLLMSeed, speedup: options.speedup, cassette: options.cassette), speedup: options.speedup, calls: calls)
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
        if let rolePlanePort {
            let plane = Router(context: RolePlaneContext.self)
            plane.add(middleware: JSONErrorMiddleware())
            RolePlaneRoutes(transport: transport, auth: options.auth, verifiesPeerRoles: options.tls != nil, clusterDigest: clusterDigest, metrics: metrics, logger: logger)
                .register(on: plane)
            // A peer process holds at most a few connections (its link posts one batch at a time);
            // 32 per address leaves room for several processes on one host, and keeps one host
            // from holding every slot or more than 32 bodies in memory at once.
            var planeLimits = options.limits
            planeLimits.connectionsPerPeerMax = Self.rolePlaneConnectionsPerPeerMax
            let server = try options.tls.map { try HTTPServerBuilder.tls(planeLimits.server(), tlsConfiguration: $0.server) } ?? planeLimits.server()
            services.append(
                Application(
                    router: plane, server: server, configuration: planeLimits.configuration(host: options.host, port: rolePlanePort),
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
        for client in llmClients { await client.shutdown() }
        await transport.shutdown()
    }

    /// The role's state machine, from the cluster description the simulator builds its roles from.
    public static func machine(for role: Address, options: ServeOptions, incarnation: UInt32) throws -> any CoreMachine {
        let machine = try options.layout.spec.machine(for: role, incarnation: incarnation, factory: options.roleFactory) { () -> any TaskStoreBackend in
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

/// The role plane: `POST /v1/core/messages` with a batch of addressed envelopes, over mutual
/// TLS (each envelope's sender must be a role the peer's certificate names, or the batch gets
/// 403) or signed with the cluster secret (unsigned, badly signed or stale requests get 401).
/// Either way the request names the sender's cluster description (`X-AgentOS-Cluster`, a
/// digest of the cluster file) and a different one gets 409: processes started from cluster
/// files that differ must not work together. Refused requests change nothing.
///
/// Nothing heavy happens before authentication: the signature header must be there, well
/// formed and fresh, and the body must declare a length within `bodyLimit`, before a byte of
/// the body is read (a sender of ours always declares it); only then is the body read, up to
/// that length, and its signature checked.
struct RolePlaneRoutes {
    let transport: Transport
    let auth: RolePlaneAuth?
    let verifiesPeerRoles: Bool
    let clusterDigest: String
    let metrics: ServerMetrics
    let logger: Logger
    /// A batch is cut at `Link.batchBytesMax`; one message may be larger (a prompt that carries
    /// big parent results), up to this.
    static let bodyLimit = 4 << 20

    func register(on router: Router<RolePlaneContext>) {
        router.on(.coreMessages) { request, context in
            var request = request
            let header = request.headers[HTTPField.Name(RolePlaneAuth.header)!]
            if let auth {
                let head = auth.verifyHead(header, now: RolePlaneAuth.now())
                guard head == .valid else { return refuse(head) }
            }
            let theirs = request.headers[HTTPField.Name(ClusterLayout.digestHeader)!]
            guard theirs == clusterDigest else {
                metrics.rolePlaneRefused.increment()
                logger.error(
                    "a peer runs another cluster description: refused", metadata: ["ours": "\(clusterDigest)", "theirs": "\(theirs ?? "none")"])
                return jsonResponse(
                    .conflict,
                    APIError(success: false, err: "cluster description differs: this process runs \(clusterDigest), the request names \(theirs ?? "none"); start every process from the same cluster file"))
            }
            guard let declared = request.headers[.contentLength].flatMap({ Int($0) }) else {
                return jsonResponse(.lengthRequired, APIError(success: false, err: "role-plane requests must declare their Content-Length"))
            }
            guard declared <= Self.bodyLimit else {
                return jsonResponse(.contentTooLarge, APIError(success: false, err: "the body exceeds \(Self.bodyLimit) bytes"))
            }
            let body: Data
            do {
                body = Data(buffer: try await request.collectBody(upTo: declared))
            } catch {
                return jsonResponse(.contentTooLarge, APIError(success: false, err: "the body exceeds its declared \(declared) bytes"))
            }
            if let auth {
                let verdict = auth.verify(header, body: body, now: RolePlaneAuth.now())
                guard verdict == .valid else { return refuse(verdict) }
            }
            let batch: [AddressedEnvelope]
            do {
                batch = try JSONDecoder().decode([AddressedEnvelope].self, from: body)
            } catch let error as DecodingError {
                return jsonResponse(.badRequest, APIError(success: false, err: "not a batch of core messages: \(oneLine(error))"))
            }
            if verifiesPeerRoles {
                let peer = RolePlaneTLS.peerRoles(try? await context.channel.nioSSL_peerCertificate().get())
                if let forged = batch.first(where: { !peer.contains($0.from) }) {
                    metrics.rolePlaneRefused.increment()
                    logger.warning("role-plane batch refused: a sender its certificate does not name", metadata: ["from": "\(forged.from)", "peer": "\(peer.sorted())"])
                    return jsonResponse(.forbidden, APIError(success: false, err: "the peer's certificate does not name role '\(forged.from)'"))
                }
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

    private func refuse(_ verdict: RolePlaneAuth.Verdict) -> Response {
        metrics.rolePlaneRefused.increment()
        logger.warning("role-plane request refused", metadata: ["verdict": "\(verdict)"])
        return jsonResponse(.unauthorized, APIError(success: false, err: "role-plane requests must carry a valid \(RolePlaneAuth.header)"))
    }
}

/// The role plane's request context: the connection, whose TLS handler holds the peer's certificate.
struct RolePlaneContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

extension ClusterLayout {
    static let digestHeader = "X-AgentOS-Cluster"

    /// The cluster description's fingerprint: SHA-256 of the layout as canonical JSON (sorted
    /// keys), first 16 hex digits. Equal files give equal digests whatever their key order.
    public var digest: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data()
        return RolePlaneAuth.hex(SHA256.hash(data: data).prefix(8))
    }

    /// The role-plane URL with TLS: `http://` becomes `https://`.
    static func secured(_ url: String) -> String {
        url.hasPrefix("http://") ? "https://" + url.dropFirst("http://".count) : url
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
