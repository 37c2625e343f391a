import Determinism
import FakeLLM
import Foundation
import Hummingbird

/// The fake LLM as an OpenAI-compatible HTTP API: `POST /v1/chat/completions` (with `n`,
/// `stream`, `max_completion_tokens`, list-of-parts content and tool-call messages),
/// `GET /v1/models`, `GET /v1/models/{id}`, `GET /ready`. Errors use OpenAI's `{"error": {...}}`.
public struct FakeLLMRoutes: Sendable {
    public let live: LiveFakeLLM
    /// How long a call the fake decided never to answer holds its connection before a 504,
    /// at real speed; divided by `speedup` like every other delay.
    public let hangLimit: Duration
    public let speedup: Int64
    public let bodyLimit: Int
    /// Where labelled calls are recorded (`LLMCallLine`), if anywhere.
    public let calls: HistoryWriter?

    public init(live: LiveFakeLLM, hangLimit: Duration = .seconds(300), speedup: Int64 = 1, bodyLimit: Int = 1 << 20, calls: HistoryWriter? = nil) {
        self.calls = calls
        precondition(speedup >= 1, "speedup must be at least 1, got \(speedup)")
        self.live = live
        self.hangLimit = hangLimit
        self.speedup = speedup
        self.bodyLimit = bodyLimit
    }

    /// `withReady: false` when the process serves its own `/ready` (`agentos serve`).
    public func register<Context: RequestContext>(on router: Router<Context>, withReady: Bool = true) {
        if withReady { router.on(.ready) { _, _ in jsonResponse(.ok, ["status": "ready"]) } }
        router.on(.models) { _, _ in
            let model = await live.config.model
            return jsonResponse(.ok, ModelList(object: "list", data: [ModelCard(model)]))
        }
        router.on(.model) { _, context in
            let model = await live.config.model
            let asked = context.parameters.get("model") ?? ""
            guard asked == model else {
                return failureResponse(
                    ChatFailure(
                        status: 404,
                        error: .init(message: "The model '\(asked)' does not exist", type: "invalid_request_error", param: "model", code: "model_not_found")))
            }
            return jsonResponse(.ok, ModelCard(model))
        }
        router.on(.chatCompletions) { request, _ in
            var request = request
            let chat: ChatRequest
            do {
                let body = try await request.collectBody(upTo: bodyLimit)
                chat = try JSONDecoder().decode(ChatRequest.self, from: Data(buffer: body))
            } catch let error as DecodingError {
                return failureResponse(.invalidRequest("request body is not a valid chat completion request: \(oneLine(error))"))
            } catch {
                return failureResponse(
                    ChatFailure(status: 413, error: .init(message: "request body exceeds \(bodyLimit) bytes", type: "invalid_request_error")))
            }
            if let invalid = chat.validationError() { return failureResponse(invalid) }
            // `n` choices are n sequences to the server: each takes its own slot, as in vLLM.
            var one = chat
            one.n = nil
            one.stream = nil
            let single = one
            let outcomes = await withTaskGroup(of: (Int, ChatOutcome?).self) { group in
                for index in 0..<chat.choiceCount { group.addTask { (index, await complete(single)) } }
                var all: [(Int, ChatOutcome?)] = []
                for await outcome in group { all.append(outcome) }
                return all.sorted { $0.0 < $1.0 }.map(\.1)
            }
            if let calls, let (task, node) = LLMCallLine.labels(of: chat), let prompt = chat.messages.last?.content {
                for outcome in outcomes {
                    let (answer, status): (String?, Int)
                    switch outcome {
                    case .success(let response)?: (answer, status) = (response.content, 200)
                    case .failure(let failure)?: (answer, status) = (nil, failure.status)
                    case nil: (answer, status) = (nil, 0)
                    }
                    calls.append(LLMCallLine(time: HistoryLine.now(), task: task, node: node, prompt: prompt, answer: answer, status: status))
                }
            }
            var merged: ChatResponse?
            for outcome in outcomes {
                switch outcome {
                case .failure(let failure)?: return failureResponse(failure)
                case nil:
                    return failureResponse(ChatFailure(status: 504, error: .init(message: "the model did not answer", type: "timeout")))
                case .success(let response)?:
                    if merged == nil {
                        merged = response
                    } else {
                        var choice = response.choices[0]
                        choice.index = merged!.choices.count
                        merged!.choices.append(choice)
                        merged!.usage.completionTokens += response.usage.completionTokens
                        merged!.usage.totalTokens += response.usage.completionTokens
                    }
                }
            }
            // Served for real, `created` is a Unix timestamp as OpenAI's is.
            merged!.created = Int64(Date().timeIntervalSince1970)
            return chat.stream == true ? Self.streamed(merged!, includeUsage: chat.streamIncludesUsage == true) : jsonResponse(.ok, merged!)
        }
    }

    /// One call through the endpoint model: waits for its slot and its service time; nil if the
    /// fake chose never to answer (after holding the connection for the hang limit).
    private func complete(_ chat: ChatRequest) async -> ChatOutcome? {
        switch await live.submit(chat) {
        case .rejected(let failure):
            return .failure(failure)
        case .scheduled(let id, let at, let outcome):
            try? await Task.sleep(for: await live.delay(until: at))
            await live.finish(id: id)
            if outcome == nil { try? await Task.sleep(for: hangLimit / Int(clamping: speedup)) }
            return outcome
        case .answered(let outcome):
            if outcome == nil { try? await Task.sleep(for: hangLimit / Int(clamping: speedup)) }
            return outcome
        }
    }

    /// The response as OpenAI streams it: server-sent events of `chat.completion.chunk`
    /// objects (a role delta, content deltas of a few words, a final delta with the finish
    /// reason, per choice), with `includeUsage` a chunk of no choices that carries the usage,
    /// then `data: [DONE]`.
    static func streamed(_ response: ChatResponse, includeUsage: Bool = false) -> Response {
        var events = ""
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func emit(_ chunk: StreamChunk) {
            events += "data: \(String(decoding: (try? encoder.encode(chunk)) ?? Data(), as: UTF8.self))\n\n"
        }
        func event(_ choice: Int, _ delta: StreamChunk.Delta, _ finish: String?) {
            emit(StreamChunk(
                id: response.id, object: "chat.completion.chunk", created: response.created, model: response.model,
                choices: [.init(index: choice, delta: delta, finishReason: finish)]))
        }
        for choice in response.choices {
            event(choice.index, .init(role: "assistant", content: ""), nil)
            var piece = ""
            for character in choice.message.content {
                piece.append(character)
                if character == " " || character == "\n", piece.count >= 16 {
                    event(choice.index, .init(role: nil, content: piece), nil)
                    piece = ""
                }
            }
            if !piece.isEmpty { event(choice.index, .init(role: nil, content: piece), nil) }
            event(choice.index, .init(role: nil, content: nil), choice.finishReason)
        }
        if includeUsage {
            emit(StreamChunk(
                id: response.id, object: "chat.completion.chunk", created: response.created, model: response.model, choices: [], usage: response.usage))
        }
        events += "data: [DONE]\n\n"
        return Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(string: events)))
    }
}

struct StreamChunk: Encodable {
    struct Delta: Encodable {
        let role: String?
        let content: String?
    }
    struct Choice: Encodable {
        let index: Int
        let delta: Delta
        let finishReason: String?
        enum CodingKeys: String, CodingKey {
            case index, delta
            case finishReason = "finish_reason"
        }
        // `finish_reason` is present (null) on every chunk, as OpenAI sends it.
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(index, forKey: .index)
            try container.encode(delta, forKey: .delta)
            try container.encode(finishReason, forKey: .finishReason)
        }
    }
    let id: String
    let object: String
    let created: Int64
    let model: String
    let choices: [Choice]
    /// Only on the last chunk, when the request asked for it (`stream_options.include_usage`).
    var usage: ChatResponse.Usage? = nil
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

    init(_ model: String) {
        id = model
        object = "model"
        created = 0
        ownedBy = "agentos-sim"
    }

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
    if let retryAfter = failure.retryAfter {
        // Whole seconds, rounded up, as the Retry-After header requires.
        headers[.retryAfter] = String((retryAfter.nanoseconds + 999_999_999) / 1_000_000_000)
    } else if failure.status == 503 {
        // An overloaded server says when to come back, as OpenAI's does; a second is about
        // how long a full queue takes to move.
        headers[.retryAfter] = "1"
    }
    return jsonResponse(HTTPResponse.Status(code: failure.status), failure.responseBody, headers: headers)
}
