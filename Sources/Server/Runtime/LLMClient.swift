import AsyncHTTPClient
import Core
import FakeLLM
import Foundation
import Logging
import NIOCore

/// The LLM endpoint as the proxies see it (`llm-1`): turns each `llmRequest` into an
/// OpenAI-compatible chat-completions call and answers with an `llmReply`. The key comes from
/// an environment variable and is never logged.
///
/// Its own HTTP client, with a connection pool as wide as the calls the workers may have in
/// flight: LLM calls last seconds, and sharing a small pool with anything else makes everything
/// else wait behind them (the cause of the real shell's order-of-magnitude slowdown).
final class LLMClient: LocalEndpoint, @unchecked Sendable {
    // Immutable after init, except `transport`, set once before any traffic.
    /// The endpoint's address in the cluster (`llm-1`, ...): replies come from it.
    let address: Address
    let url: String
    let model: String
    let apiKey: String?
    let timeout: TimeAmount
    weak var transport: Transport?
    let metrics: ServerMetrics
    let logger: Logger
    let client: HTTPClient
    /// Send each call's task and graph node as request metadata (only to the cluster's own fake
    /// LLM, which records them; a hosted API need not accept them).
    let sendsLabels: Bool
    /// `serve --record`: every call's canonical request, answer and latency (never a header).
    let recorder: LLMRecorder?
    /// The cluster's speedup: a recorded latency is in the cluster's clock.
    let speedup: Int64

    init(
        address: Address, url: String, model: String, apiKey: String?, timeout: TimeAmount, connectionsMax: Int, sendsLabels: Bool = false,
        metrics: ServerMetrics,
        logger: Logger, recorder: LLMRecorder? = nil, speedup: Int64 = 1
    ) {
        self.sendsLabels = sendsLabels
        self.recorder = recorder
        self.speedup = speedup
        self.url = url
        self.model = model
        self.apiKey = apiKey
        self.timeout = timeout
        self.metrics = metrics
        self.address = address
        self.logger = logger
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsMax
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func deliver(_ envelope: Envelope) {
        guard case .llmRequest(let request) = envelope.message else { return }
        Task {
            let result = await call(request)
            transport?.send(.llmReply(LLMReply(id: request.id, result: result)), from: address, to: envelope.from)
        }
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    func call(_ request: LLMRequest) async -> LLMReply.Result {
        metrics.llmCalls.increment()
        metrics.endpointCalls(address.name).increment()
        let started = ContinuousClock.now
        // Unix time, comparable across the cluster's processes: a cassette orders a request's
        // answers by it (a round's samples share one prompt and take its answers in send order).
        let sentAt = Double(HistoryLine.now()) / 1_000_000
        defer { metrics.llmLatency.record(ContinuousClock.now - started) }
        let chat = ChatRequest(
            model: model, messages: [ChatMessage(role: "user", content: request.prompt)], maxTokens: request.maxTokens, stop: request.stop,
            temperature: 0.7)
        let result = await send(chat, request)
        if let recorder {
            let (status, answer, error): (Int, String?, String?)
            switch result {
            case .text(let text): (status, answer, error) = (200, text, nil)
            case .error(let code, let message, _): (status, answer, error) = (code, nil, message)
            }
            // In the cluster's clock, as the simulator replays it: real time times the speedup.
            let latencyMillis = (ContinuousClock.now - started) / .milliseconds(1) * Double(speedup)
            recorder.append(
                CassetteEntry(
                    request: CassetteRequest(chat), status: status, answer: answer, error: error,
                    latencyMillis: latencyMillis, endpoint: address.name, task: String(request.task), node: request.node, atMillis: sentAt))
        }
        return result
    }

    private func send(_ chat: ChatRequest, _ request: LLMRequest) async -> LLMReply.Result {
        do {
            var chat = chat
            if sendsLabels { chat.metadata = LLMCallLine.labels(task: request.task, node: request.node) }
            var http = HTTPClientRequest(url: url)
            http.method = .POST
            http.headers.add(name: "Content-Type", value: "application/json")
            if let apiKey { http.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
            http.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(chat)))
            let response = try await client.execute(http, timeout: timeout)
            let body = Data(buffer: try await response.body.collect(upTo: 8 << 20))
            if response.status == .ok, let decoded = try? JSONDecoder().decode(ChatResponse.self, from: body) {
                return .text(decoded.content)
            }
            metrics.llmErrors.increment()
            let message = (try? JSONDecoder().decode(ErrorEnvelope.self, from: body))?.error.message ?? "HTTP \(response.status.code)"
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int64($0) }.map { Interval.seconds($0) }
            return .error(status: Int(response.status.code), message: message, retryAfter: retryAfter)
        } catch {
            metrics.llmErrors.increment()
            logger.debug("LLM call failed", metadata: ["error": "\(error)"])
            return .error(status: 503, message: "LLM endpoint unreachable: \(error)", retryAfter: nil)
        }
    }
}
