import FakeLLM
import Foundation
import Hummingbird

/// The fake LLM as an OpenAI-compatible HTTP API: `POST /v1/chat/completions`, `GET /v1/models`,
/// `GET /ready`. Errors use OpenAI's `{"error": {...}}` body.
public struct FakeLLMRoutes: Sendable {
    public let live: LiveFakeLLM
    /// How long a call the fake decided never to answer holds its connection before a 504.
    public let hangLimit: Duration
    public let bodyLimit: Int

    public init(live: LiveFakeLLM, hangLimit: Duration = .seconds(300), bodyLimit: Int = 1 << 20) {
        self.live = live
        self.hangLimit = hangLimit
        self.bodyLimit = bodyLimit
    }

    /// `withReady: false` when the process serves its own `/ready` (`agentos serve`).
    public func register<Context: RequestContext>(on router: Router<Context>, withReady: Bool = true) {
        if withReady { router.get("/ready") { _, _ in jsonResponse(.ok, ["status": "ready"]) } }
        router.get("/v1/models") { _, _ in
            let model = await live.config.model
            return jsonResponse(
                .ok, ModelList(object: "list", data: [ModelCard(id: model, object: "model", created: 0, ownedBy: "agentos-sim")]))
        }
        router.post("/v1/chat/completions") { request, _ in
            var request = request
            let chat: ChatRequest
            do {
                let body = try await request.collectBody(upTo: bodyLimit)
                chat = try JSONDecoder().decode(ChatRequest.self, from: Data(buffer: body))
            } catch let error as DecodingError {
                return failureResponse(.invalidRequest("request body is not a valid chat completion request: \(describe(error))"))
            } catch {
                return failureResponse(
                    ChatFailure(status: 413, error: .init(message: "request body exceeds \(bodyLimit) bytes", type: "invalid_request_error")))
            }
            switch await live.submit(chat) {
            case .rejected(let failure):
                return failureResponse(failure)
            case .scheduled(let id, let at, let outcome):
                try? await Task.sleep(for: await live.delay(until: at))
                await live.finish(id: id)
                switch outcome {
                case .success(var response)?:
                    // Served for real, `created` is a Unix timestamp as OpenAI's is.
                    response.created = Int64(Date().timeIntervalSince1970)
                    return jsonResponse(.ok, response)
                case .failure(let failure)?: return failureResponse(failure)
                case nil:
                    // The fake chose never to answer: hold the connection as a hung server does.
                    try? await Task.sleep(for: hangLimit)
                    return failureResponse(
                        ChatFailure(status: 504, error: .init(message: "the model did not answer", type: "timeout")))
                }
            }
        }
    }
}

struct ModelList: Encodable {
    let object: String
    let data: [ModelCard]
}

struct ModelCard: Encodable {
    let id: String
    let object: String
    let created: Int
    let ownedBy: String

    enum CodingKeys: String, CodingKey {
        case id, object, created
        case ownedBy = "owned_by"
    }
}

func jsonResponse<T: Encodable>(_ status: HTTPResponse.Status, _ value: T, headers extra: HTTPFields = [:]) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    var headers: HTTPFields = [.contentType: "application/json"]
    headers.append(contentsOf: extra)
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

func failureResponse(_ failure: ChatFailure) -> Response {
    var headers: HTTPFields = [:]
    if let retryAfter = failure.retryAfterNanos {
        // Whole seconds, rounded up, as the Retry-After header requires.
        headers[.retryAfter] = String((retryAfter + 999_999_999) / 1_000_000_000)
    }
    return jsonResponse(HTTPResponse.Status(code: failure.status), failure.responseBody, headers: headers)
}

/// A decoding error as one line: what was wrong, and where.
func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return keys.isEmpty ? "top level" : keys.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, let context): return "missing field '\(key.stringValue)' at \(path(context))"
    case .typeMismatch(let type, let context): return "wrong type at \(path(context)), expected \(type)"
    case .valueNotFound(let type, let context): return "null at \(path(context)), expected \(type)"
    case .dataCorrupted(let context): return "\(context.debugDescription) at \(path(context))"
    @unknown default: return "\(error)"
    }
}
