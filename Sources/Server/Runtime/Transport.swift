import AsyncHTTPClient
import Core
import DequeModule
import Foundation
import Logging
import NIOCore
import NIOSSL

/// Carries role-to-role messages with the guarantees the simulator's network gives and the
/// roles are written for (docs/ARCHITECTURE.md, "Links"): per ordered pair of roles, messages
/// arrive in the order sent or not at all; any message may be lost; none is invented.
///
/// - A receiver in this process gets the message straight into its mailbox (no HTTP).
/// - A receiver elsewhere is reached over its process's link: one bounded FIFO queue per
///   destination process, drained by one sender that posts batches in order on the role plane,
///   signed with the cluster secret. A full queue drops the new message (counted); a batch the
///   peer did not take is dropped (counted), as a network would lose it.
public final class Transport: @unchecked Sendable {
    // `local` is filled once while the process starts, before any message flows; read-only after.
    private let urls: [Address: String]
    private var local: [Address: any LocalEndpoint] = [:]
    private let links: [String: Link]
    private let logger: Logger
    private let metrics: ServerMetrics
    private let client: HTTPClient
    /// Records traced messages' sends, deliveries and certain losses (with `serve --history`).
    let traffic: TrafficRecorder?

    init(
        urls: [Address: String], auth: RolePlaneAuth?, tls: TLSConfiguration? = nil, clusterDigest: String, linkCapacity: Int = 8192, metrics: ServerMetrics,
        traffic: TrafficRecorder? = nil, logger: Logger
    ) {
        self.urls = urls
        self.traffic = traffic
        self.metrics = metrics
        self.logger = logger
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(2), read: .seconds(10)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 4
        configuration.tlsConfiguration = tls
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var links: [String: Link] = [:]
        for base in Set(urls.values) {
            links[base] = Link(
                base: base, capacity: linkCapacity, client: client, auth: auth, clusterDigest: clusterDigest, metrics: metrics, traffic: traffic, logger: logger)
        }
        self.links = links
    }

    func register(_ address: Address, _ endpoint: any LocalEndpoint) {
        local[address] = endpoint
    }

    func hosts(_ address: Address) -> Bool { local[address] != nil }

    /// Hands a message to its receiver's mailbox or link; never blocks. `trace` is the
    /// message's id in the traffic history, if it is traced.
    func send(_ message: CoreMessage, from: Address, to: Address, trace: UInt64? = nil) {
        if let endpoint = local[to] {
            endpoint.deliver(Envelope(from: from, message: message, trace: trace))
            return
        }
        guard let base = urls[to], let link = links[base] else {
            metrics.dropped(reason: "no_route")
            traffic?.dropped(trace)
            logger.warning("message to an address with no URL dropped", metadata: ["to": "\(to)"])
            return
        }
        link.enqueue(AddressedEnvelope(to: to, from: from, message: message, trace: trace))
    }

    func shutdown() async {
        try? await client.shutdown()
    }
}

/// Something in this process that takes messages without HTTP. `deliver` never blocks: it
/// queues the message (or starts the work it asks for) and returns.
protocol LocalEndpoint: Sendable {
    func deliver(_ envelope: Envelope)
}

/// One message on the role plane: Core's own message encoding, the sender and the receiver.
public struct AddressedEnvelope: Codable, Sendable {
    public var to: Address
    public var from: Address
    public var message: CoreMessage
    /// The message's id in the run's traffic history, so the receiver records the same id.
    public var trace: UInt64?

    public init(to: Address, from: Address, message: CoreMessage, trace: UInt64? = nil) {
        self.to = to
        self.from = from
        self.message = message
        self.trace = trace
    }
}

/// The ordered, bounded queue to one peer process, and its single sender.
final class Link: @unchecked Sendable {
    let base: String
    private let capacity: Int
    private let client: HTTPClient
    private let auth: RolePlaneAuth?
    private let clusterDigest: String
    private let metrics: ServerMetrics
    private let traffic: TrafficRecorder?
    private let logger: Logger
    private let lock = NSLock()
    private var queue: Deque<AddressedEnvelope> = []
    private var draining = false
    /// Messages per request: enough to amortise a round trip, small enough to stay far below
    /// the role plane's body limit with the largest messages (prompts of a few hundred KB).
    static let batchMax = 32
    /// Bytes per request: a quarter of the receiver's body limit, so that a batch is cut long
    /// before it and the limit can stay small (it bounds what an unauthenticated sender can make
    /// a process hold).
    static let batchBytesMax = RolePlaneRoutes.bodyLimit / 4

    init(
        base: String, capacity: Int, client: HTTPClient, auth: RolePlaneAuth?, clusterDigest: String, metrics: ServerMetrics, traffic: TrafficRecorder?,
        logger: Logger
    ) {
        self.base = base
        self.clusterDigest = clusterDigest
        self.traffic = traffic
        self.capacity = capacity
        self.client = client
        self.auth = auth
        self.metrics = metrics
        self.logger = logger
    }

    func enqueue(_ envelope: AddressedEnvelope) {
        lock.lock()
        guard queue.count < capacity else {
            lock.unlock()
            metrics.dropped(reason: "link_full")
            traffic?.dropped(envelope.trace)
            return
        }
        queue.append(envelope)
        let start = !draining
        draining = true
        lock.unlock()
        if start { Task { await self.drain() } }
    }

    private func takeBatch() -> [AddressedEnvelope] {
        lock.lock()
        defer { lock.unlock() }
        let count = min(queue.count, Self.batchMax)
        let batch = Array(queue.prefix(count))
        queue.removeFirst(count)
        if batch.isEmpty { draining = false }
        return batch
    }

    private func drain() async {
        let encoder = JSONEncoder()
        while true {
            let batch = takeBatch()
            if batch.isEmpty { return }
            // Cut the batch where it would pass `batchBytesMax`, keeping the order; a message too
            // large for the receiver's body limit on its own is dropped here, not sent to be refused.
            var chunk: [Data] = []
            var bytes = 2
            for envelope in batch {
                guard let data = try? encoder.encode(envelope), data.count + 2 <= RolePlaneRoutes.bodyLimit else {
                    metrics.dropped(reason: "message_too_large")
                    traffic?.dropped(envelope.trace)
                    logger.error("a message too large for the role plane was dropped", metadata: ["to": "\(envelope.to)", "limit": "\(RolePlaneRoutes.bodyLimit)"])
                    continue
                }
                if !chunk.isEmpty, bytes + data.count + 1 > Self.batchBytesMax {
                    await send(chunk)
                    chunk = []
                    bytes = 2
                }
                chunk.append(data)
                bytes += data.count + 1
            }
            if !chunk.isEmpty { await send(chunk) }
        }
    }

    /// Posts encoded envelopes as one JSON array.
    private func send(_ chunk: [Data]) async {
        var body = Data("[".utf8)
        for (index, data) in chunk.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(data)
        }
        body.append(UInt8(ascii: "]"))
        if await !post(body) {
            metrics.dropped(reason: "peer_unreachable", count: chunk.count)
            // The peer is down or refusing: wait a moment instead of spinning on it.
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    private func post(_ body: Data) async -> Bool {
        do {
            var request = HTTPClientRequest(url: "\(base)/v1/core/messages")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: ClusterLayout.digestHeader, value: clusterDigest)
            if let auth { request.headers.add(name: RolePlaneAuth.header, value: auth.sign(body, at: RolePlaneAuth.now())) }
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 16)
            switch response.status {
            case .unauthorized:
                logger.error("the peer refused our role-plane signature: do the processes share the same secret?", metadata: ["peer": "\(base)"])
            case .conflict:
                logger.error("the peer runs another cluster description: start every process from the same cluster file", metadata: ["peer": "\(base)", "ours": "\(clusterDigest)"])
            case .forbidden:
                logger.error("the peer refused our certificate for the sending role: is this process's certificate the one for its roles?", metadata: ["peer": "\(base)"])
            default:
                break
            }
            return response.status == .accepted
        } catch {
            logger.debug("batch not delivered", metadata: ["peer": "\(base)", "error": "\(error)"])
            return false
        }
    }
}
