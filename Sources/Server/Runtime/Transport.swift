import AsyncHTTPClient
import Core
import Foundation
import Logging
import NIOCore

/// Carries role-to-role messages: over HTTP to the process that hosts the receiver (Core's
/// message encoding as the body), or straight to an adapter of this process (the LLM client,
/// the gateway's client API).
public final class Transport: @unchecked Sendable {
    // `local` is filled once while the process starts, before any message flows; read-only after.
    private let urls: [String: String]
    private var local: [Address: any LocalEndpoint] = [:]
    private let timeout: TimeAmount
    private let logger: Logger
    private let metrics: ServerMetrics

    init(urls: [String: String], timeout: TimeAmount = .seconds(5), metrics: ServerMetrics, logger: Logger) {
        self.urls = urls
        self.timeout = timeout
        self.metrics = metrics
        self.logger = logger
    }

    func register(_ address: Address, _ endpoint: any LocalEndpoint) {
        local[address] = endpoint
    }

    /// Best effort, like a network: a message that cannot be delivered is dropped (and
    /// counted); the roles' own retries and timeouts handle the rest.
    func send(_ message: CoreMessage, from: Address, to: Address) async {
        if let endpoint = local[to] {
            await endpoint.deliver(Envelope(from: from, message: message))
            return
        }
        guard let base = urls[to] else {
            metrics.dropped.increment()
            logger.warning("message to an address with no URL dropped", metadata: ["to": "\(to)"])
            return
        }
        do {
            var request = HTTPClientRequest(url: "\(base)/v1/core/\(to)")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(Envelope(from: from, message: message))))
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            _ = try await response.body.collect(upTo: 1 << 16)
            if response.status != .accepted { metrics.dropped.increment() }
        } catch {
            metrics.dropped.increment()
            logger.debug("message not delivered", metadata: ["to": "\(to)", "error": "\(error)"])
        }
    }
}

/// Something in this process that takes messages without HTTP.
protocol LocalEndpoint: Sendable {
    func deliver(_ envelope: Envelope) async
}
