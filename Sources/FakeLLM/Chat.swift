/// The OpenAI chat-completions request, as much of it as the fake serves. Unknown fields are
/// ignored, as OpenAI-compatible servers do.
public struct ChatRequest: Codable, Hashable, Sendable {
    public var model: String
    public var messages: [ChatMessage]
    public var maxTokens: Int?
    /// One string or a list in the wire format; always a list here.
    public var stop: [String]
    /// Accepted for compatibility; the fake's answers do not depend on it.
    public var temperature: Double?
    /// Choices to generate (OpenAI's `n`); nil means one.
    public var n: Int?
    /// Answer as server-sent events in OpenAI's chunk format.
    public var stream: Bool?
    /// `stream_options.include_usage`: end a stream with a chunk of no choices and the usage.
    public var streamIncludesUsage: Bool?
    /// OpenAI's request labels (string to string). The real shell sends a call's task and graph
    /// node here to its own fake LLM, which records them with the call for `cluster-test`.
    public var metadata: [String: String]?

    public init(
        model: String, messages: [ChatMessage], maxTokens: Int? = nil, stop: [String] = [], temperature: Double? = nil, n: Int? = nil,
        stream: Bool? = nil
    ) {
        self.model = model
        self.messages = messages
        self.maxTokens = maxTokens
        self.stop = stop
        self.temperature = temperature
        self.n = n
        self.stream = stream
    }

    enum CodingKeys: String, CodingKey {
        case model, messages, stop, temperature, n, stream, metadata
        case streamOptions = "stream_options"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        messages = try container.decode([ChatMessage].self, forKey: .messages)
        // `max_completion_tokens` is the newer name of the same limit; either is honoured.
        maxTokens = try container.decodeIfPresent(Int.self, forKey: .maxTokens) ?? container.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        temperature = try container.decodeIfPresent(Double.self, forKey: .temperature)
        n = try container.decodeIfPresent(Int.self, forKey: .n)
        stream = try container.decodeIfPresent(Bool.self, forKey: .stream)
        streamIncludesUsage = try container.decodeIfPresent(StreamOptions.self, forKey: .streamOptions)?.includeUsage
        metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata)
        if let single = try? container.decodeIfPresent(String.self, forKey: .stop) {
            stop = [single]
        } else {
            stop = try container.decodeIfPresent([String].self, forKey: .stop) ?? []
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(messages, forKey: .messages)
        try container.encodeIfPresent(maxTokens, forKey: .maxTokens)
        if !stop.isEmpty { try container.encode(stop, forKey: .stop) }
        try container.encodeIfPresent(temperature, forKey: .temperature)
        try container.encodeIfPresent(n, forKey: .n)
        try container.encodeIfPresent(stream, forKey: .stream)
        if let streamIncludesUsage { try container.encode(StreamOptions(includeUsage: streamIncludesUsage), forKey: .streamOptions) }
        try container.encodeIfPresent(metadata, forKey: .metadata)
    }

    struct StreamOptions: Codable {
        var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    /// Choices asked for.
    public var choiceCount: Int { n ?? 1 }

    /// The most choices one request may ask for.
    public static let choicesMax = 16

    /// Checks what a real server would refuse with a 400; nil when the request is servable.
    public func validationError() -> ChatFailure? {
        if model.isEmpty { return .invalidRequest("'model' must not be empty", param: "model") }
        if messages.isEmpty { return .invalidRequest("'messages' must contain at least one message", param: "messages") }
        for (index, message) in messages.enumerated() where !["system", "user", "assistant", "developer", "tool"].contains(message.role) {
            return .invalidRequest("messages[\(index)].role '\(message.role)' is not a valid role", param: "messages")
        }
        if let n, !(1...Self.choicesMax).contains(n) { return .invalidRequest("'n' must be between 1 and \(Self.choicesMax), got \(n)", param: "n") }
        if let temperature, !(0...2).contains(temperature) {
            return .invalidRequest("'temperature' must be between 0 and 2, got \(temperature)", param: "temperature")
        }
        if let maxTokens, maxTokens < 1 { return .invalidRequest("'max_tokens' must be at least 1, got \(maxTokens)", param: "max_tokens") }
        if stop.count > 4 { return .invalidRequest("'stop' takes at most 4 sequences, got \(stop.count)", param: "stop") }
        if stop.contains(where: \.isEmpty) { return .invalidRequest("'stop' sequences must not be empty", param: "stop") }
        return nil
    }

    /// The text the model is asked about: every message, in order.
    public var promptText: String {
        messages.map { "\($0.role): \($0.content)" }.joined(separator: "\n")
    }
}

/// One message. `content` arrives as a string, a list of parts (`[{"type": "text", "text":
/// ...}]`, whose text parts are joined), or null (an assistant message that only made tool
/// calls); here it is always the text. Tool calls are accepted and ignored by the fake.
public struct ChatMessage: Codable, Hashable, Sendable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    enum CodingKeys: String, CodingKey {
        case role, content
        case toolCalls = "tool_calls"
    }

    struct Part: Decodable {
        let type: String
        let text: String?
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        role = try container.decode(String.self, forKey: .role)
        if let text = try? container.decodeIfPresent(String.self, forKey: .content) {
            content = text
        } else if let parts = try? container.decodeIfPresent([Part].self, forKey: .content) {
            content = parts.compactMap { $0.type == "text" ? $0.text : nil }.joined(separator: "\n")
        } else if try container.decodeNil(forKey: .content) || !container.contains(.content) {
            guard role == "assistant" || role == "tool" || container.contains(.toolCalls) else {
                throw DecodingError.valueNotFound(
                    String.self, .init(codingPath: [CodingKeys.content], debugDescription: "content may be null only for assistant messages with tool_calls"))
            }
            content = ""
        } else {
            throw DecodingError.typeMismatch(
                String.self, .init(codingPath: [CodingKeys.content], debugDescription: "content must be a string, a list of parts, or null"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(role, forKey: .role)
        try container.encode(content, forKey: .content)
    }
}

/// The OpenAI chat-completions response.
public struct ChatResponse: Codable, Hashable, Sendable {
    public struct Choice: Codable, Hashable, Sendable {
        public var index: Int
        public var message: ChatMessage
        public var finishReason: String

        enum CodingKeys: String, CodingKey {
            case index, message
            case finishReason = "finish_reason"
        }
    }

    public struct Usage: Codable, Hashable, Sendable {
        public var promptTokens: Int
        public var completionTokens: Int
        public var totalTokens: Int

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
        }
    }

    public var id: String
    public var object: String
    public var created: Int64
    public var model: String
    public var choices: [Choice]
    public var usage: Usage

    public var content: String { choices.first?.message.content ?? "" }
    public var finishReason: String { choices.first?.finishReason ?? "" }
}

/// An error answer in OpenAI's shape: an HTTP status and `{"error": {...}}`.
public struct ChatFailure: Codable, Hashable, Sendable, Error {
    public struct Body: Codable, Hashable, Sendable {
        public var message: String
        public var type: String
        public var param: String?
        public var code: String?

        public init(message: String, type: String, param: String? = nil, code: String? = nil) {
            self.message = message
            self.type = type
            self.param = param
            self.code = code
        }
    }

    public init(status: Int, error: Body, retryAfter: Interval? = nil) {
        self.status = status
        self.error = error
        self.retryAfter = retryAfter
    }

    public var status: Int
    public var error: Body
    /// For 429s: when the caller may try again, from the answer.
    public var retryAfter: Interval?

    /// The encoded name predates the time type; it stays so recorded answers still read.
    enum CodingKeys: String, CodingKey {
        case status, error
        case retryAfter = "retryAfterNanos"
    }

    public static func invalidRequest(_ message: String, param: String? = nil) -> ChatFailure {
        ChatFailure(status: 400, error: Body(message: message, type: "invalid_request_error", param: param, code: nil))
    }

    public static func rateLimited(_ message: String, retryAfter: Interval) -> ChatFailure {
        ChatFailure(
            status: 429, error: Body(message: message, type: "requests", param: nil, code: "rate_limit_exceeded"),
            retryAfter: retryAfter)
    }

    public static func serverError(_ message: String) -> ChatFailure {
        ChatFailure(status: 500, error: Body(message: message, type: "server_error", param: nil, code: nil))
    }

    public static func overloaded(_ message: String) -> ChatFailure {
        ChatFailure(status: 503, error: Body(message: message, type: "server_error", param: nil, code: "overloaded"))
    }

    /// The JSON body a server sends with this failure.
    public var responseBody: ErrorEnvelope { ErrorEnvelope(error: error) }
}

public struct ErrorEnvelope: Codable, Hashable, Sendable {
    public var error: ChatFailure.Body
}

/// What one call produced: a response, or an error answer.
public enum ChatOutcome: Hashable, Sendable {
    case success(ChatResponse)
    case failure(ChatFailure)
}
