import Core
import FakeLLM
import Foundation
import Hummingbird
import Logging
import NIOCore

/// What one `agentos serve` process runs.
public struct ServeOptions: Sendable {
    public var host: String
    public var port: Int
    public var layout: ClusterLayout
    /// The roles this process hosts; `fake-llm` adds the embedded fake LLM.
    public var roles: [Address]
    public var dataDirectory: String
    /// Chat-completions URL; nil means the cluster's `fake-llm` process.
    public var llmURL: String?
    public var llmModel: String
    /// The API key, read from the environment by the caller; never logged.
    public var llmKey: String?
    public var fakeLLM: FakeLLMConfig
    public var fakeLLMSeed: UInt64
    public var speedup: Int64
    public var bodyLimit: Int

    public init(
        host: String, port: Int, layout: ClusterLayout, roles: [Address], dataDirectory: String, llmURL: String?, llmModel: String,
        llmKey: String?, fakeLLM: FakeLLMConfig, fakeLLMSeed: UInt64, speedup: Int64, bodyLimit: Int = 1 << 20
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
    }
}

public struct ServeError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Builds and runs one process of the real shell: the roles it hosts, their HTTP endpoints,
/// the gateway's client API, the fake LLM, `/ready` and `/metrics`.
public enum ServeHost {
    public static func run(_ options: ServeOptions, logger: Logger, onReady: @escaping @Sendable (Int) -> Void) async throws {
        if let problem = options.layout.problem() { throw ServeError("cluster layout: \(problem)") }
        let known = Set(options.layout.roleNames + ["fake-llm"])
        for role in options.roles where !known.contains(role) {
            throw ServeError("unknown role '\(role)' (roles: \(options.layout.roleNames.joined(separator: ", ")), fake-llm)")
        }
        let metrics = ServerMetrics()
        let transport = Transport(urls: options.layout.urls, metrics: metrics, logger: logger)
        // Unique per start, so claims and idempotency keys of an earlier life are never reused.
        let incarnation = UInt32(truncatingIfNeeded: Int64(Date().timeIntervalSince1970 * 100))

        // The LLM endpoint the proxies call.
        let llmURL = options.llmURL ?? (options.layout.urls["fake-llm"].map { "\($0)/v1/chat/completions" })
        let hostsProxy = options.roles.contains { $0.hasPrefix("proxy-") }
        if hostsProxy {
            guard let llmURL else { throw ServeError("proxies need an LLM: give --llm-url or a fake-llm URL in the cluster") }
            let client = LLMClient(
                url: llmURL, model: options.llmModel, apiKey: options.llmKey, timeout: .seconds(120), metrics: metrics, logger: logger)
            client.transport = transport
            transport.register("llm-1", client)
        }

        var hosts: [Address: RoleHost] = [:]
        for role in options.roles where role != "fake-llm" {
            hosts[role] = RoleHost(
                address: role, incarnation: incarnation, machine: try machine(for: role, options: options, incarnation: incarnation), transport: transport,
                metrics: metrics, logger: logger)
        }

        let router = Router()
        router.get("/ready") { _, _ in
            jsonResponse(.ok, ReadyBody(status: "ready", roles: options.roles.sorted()))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        let roleHosts = hosts
        router.post("/v1/core/:address") { request, context in
            var request = request
            guard let address = context.parameters.get("address"), let host = roleHosts[address] else {
                return jsonResponse(.notFound, APIError(success: false, err: "no such role in this process"))
            }
            do {
                let body = try await request.collectBody(upTo: options.bodyLimit)
                let envelope = try JSONDecoder().decode(Envelope.self, from: Data(buffer: body))
                await host.receive(envelope)
                return Response(status: .accepted)
            } catch let error as DecodingError {
                return jsonResponse(.badRequest, APIError(success: false, err: "not a core message: \(describe(error))"))
            } catch {
                return jsonResponse(.contentTooLarge, APIError(success: false, err: "body exceeds \(options.bodyLimit) bytes"))
            }
        }
        if hosts["gateway"] != nil {
            let bridge = ClientBridge(address: "client-api-\(incarnation)", transport: transport, metrics: metrics)
            transport.register(bridge.address, bridge)
            GatewayAPI(bridge: bridge, metrics: metrics, bodyLimit: options.bodyLimit).register(on: router)
        }
        if options.roles.contains("fake-llm") {
            FakeLLMRoutes(live: LiveFakeLLM(config: options.fakeLLM, seed: options.fakeLLMSeed, speedup: options.speedup))
                .register(on: router, withReady: false)
        }

        let app = Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "agentos"),
            onServerRunning: { channel in
                // The roles start only once this process can take their peers' messages.
                for role in options.layout.roleNames { if let host = roleHosts[role] { await host.boot() } }
                onReady(channel.localAddress?.port ?? options.port)
            },
            logger: logger)
        try await app.runService()
        for host in roleHosts.values { await host.stop() }
    }

    static func machine(for role: Address, options: ServeOptions, incarnation: UInt32) throws -> any CoreMachine {
        let layout = options.layout
        switch role {
        case "store":
            try FileManager.default.createDirectory(atPath: options.dataDirectory, withIntermediateDirectories: true)
            let path = (options.dataDirectory as NSString).appendingPathComponent("agentos.sqlite")
            do { return StoreNode(store: try TaskStore(path: path)) } catch { throw ServeError("cannot open the store at \(path): \(error)") }
        case "gateway":
            return Gateway(settings: GatewaySettings(regions: layout.regionNames), incarnation: incarnation)
        case let region where region.hasPrefix("region-"):
            return RegionalCoordinator(settings: RegionSettings(region: region), incarnation: incarnation)
        default:
            guard let region = layout.region(of: role) else { throw ServeError("role '\(role)' is not in the layout") }
            let worker = LLMWorkerSettings(scheduling: layout.scheduling)
            let settings = ProxySettings(proxy: role, region: region, llm: "llm-1", balancing: layout.balancing, voting: layout.voting, worker: worker)
            return AgentProxy(settings: settings, incarnation: incarnation)
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
