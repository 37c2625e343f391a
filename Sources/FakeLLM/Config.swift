@_exported import Determinism

extension DrawRange where Value == Int64 {
    func validate(_ name: String) throws {
        guard min >= 0, min <= max else { throw FakeLLMConfigError("\(name) must satisfy 0 <= min <= max (got \(self))") }
    }
}

/// How long a call takes, in integer nanoseconds: time to first token, plus time per output
/// token; with `tailChance` the whole call is `tailFactor` times slower. Output lengths are
/// simulated token counts (the answer text itself stays short).
public struct LatencyProfile: Codable, Hashable, Sendable {
    public var firstTokenNanos: IntRange
    public var perTokenNanos: IntRange
    public var tailChance: Ratio
    public var tailFactor: Int64
    public var generationTokens: IntRange
    public var votingTokens: IntRange


    func validate() throws {
        try firstTokenNanos.validate("latency.firstTokenNanos")
        try perTokenNanos.validate("latency.perTokenNanos")
        try generationTokens.validate("latency.generationTokens")
        try votingTokens.validate("latency.votingTokens")
        guard generationTokens.min >= 1, votingTokens.min >= 1 else { throw FakeLLMConfigError("token ranges must start at 1 or more") }
        guard tailFactor >= 1 else { throw FakeLLMConfigError("latency.tailFactor must be at least 1 (got \(tailFactor))") }
    }
}

/// Continuous batching, as vLLM serves: every call in the batch advances at once, each output
/// token taking longer the more calls share the batch, and a call's prompt costs prefill time.
/// Without it (nil), a call's service time is fixed when it starts and calls never slow each
/// other down (the endpoint is `capacity.concurrency` independent slots).
///
/// A call's work is its service time alone in the batch: the first-token delay, plus prefill
/// (`prefillNanosPerToken` per prompt token), plus its output tokens at `perTokenNanos`. With
/// n calls in the batch, each advances at 1000 / (1000 + `slowdownPerMille` x (n - 1)) of that
/// speed, recomputed whenever a call joins or leaves; the batch holds at most
/// `capacity.concurrency` calls and the rest wait in order.
public struct BatchingModel: Codable, Hashable, Sendable {
    /// How much longer every token takes per extra call in the batch, in thousandths.
    public var slowdownPerMille: Int64
    /// Prefill time per prompt token.
    public var prefillNanosPerToken: Int64
    /// The fake's answers are short stand-ins for long texts, so a voting prompt, which lists
    /// the samples, counts this many prompt tokens per choice on top of its text.
    public var choiceTokens: Int64

    public init(slowdownPerMille: Int64, prefillNanosPerToken: Int64, choiceTokens: Int64) {
        self.slowdownPerMille = slowdownPerMille
        self.prefillNanosPerToken = prefillNanosPerToken
        self.choiceTokens = choiceTokens
    }

    /// Speed divisor, in thousandths, with `calls` in the batch.
    @inlinable func factor(calls: Int) -> Int64 { 1000 + slowdownPerMille * Int64(max(0, calls - 1)) }

    func validate() throws {
        guard (0...100_000).contains(slowdownPerMille) else { throw FakeLLMConfigError("batching.slowdownPerMille must be 0...100000 (got \(slowdownPerMille))") }
        guard prefillNanosPerToken >= 0, choiceTokens >= 0 else { throw FakeLLMConfigError("batching.prefillNanosPerToken and choiceTokens must be >= 0") }
    }
}

/// What one endpoint can serve: calls at once (like one vLLM server), calls waiting, and
/// OpenAI-style per-minute limits (nil = unlimited).
public struct CapacityProfile: Codable, Hashable, Sendable {
    public var concurrency: Int
    public var queueLimit: Int
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?


    enum CodingKeys: String, CodingKey {
        case concurrency, queueLimit, requestsPerMinute, tokensPerMinute
    }

    /// Absent limits are written as `null`, so a config file sees every knob it may override.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(concurrency, forKey: .concurrency)
        try container.encode(queueLimit, forKey: .queueLimit)
        try container.encode(requestsPerMinute, forKey: .requestsPerMinute)
        try container.encode(tokensPerMinute, forKey: .tokensPerMinute)
    }

    func validate() throws {
        guard concurrency >= 1 else { throw FakeLLMConfigError("capacity.concurrency must be at least 1 (got \(concurrency))") }
        guard queueLimit >= 0 else { throw FakeLLMConfigError("capacity.queueLimit must be >= 0 (got \(queueLimit))") }
        if let rpm = requestsPerMinute, rpm < 1 { throw FakeLLMConfigError("capacity.requestsPerMinute must be >= 1") }
        if let tpm = tokensPerMinute, tpm < 1 { throw FakeLLMConfigError("capacity.tokensPerMinute must be >= 1") }
    }
}

/// How often each kind of misbehaviour happens, each on its own odds.
public struct FlakinessProfile: Codable, Hashable, Sendable {
    // Content faults of a generation answer.
    public var missingPlan: Ratio
    public var missingOutput: Ratio
    public var wrongCase: Ratio
    // Content faults of a vote.
    public var voteWithoutSentence: Ratio
    public var voteOutOfRange: Ratio
    public var multiDigitVote: Ratio
    // Content faults of any answer.
    public var truncated: Ratio
    public var empty: Ratio
    public var garbage: Ratio
    // Transport faults.
    public var error500: Ratio
    public var timeout: Ratio
    public var slow: Ratio
    public var slowFactor: Int64


    public static let none = FlakinessProfile(
        missingPlan: .never, missingOutput: .never, wrongCase: .never, voteWithoutSentence: .never,
        voteOutOfRange: .never, multiDigitVote: .never, truncated: .never, empty: .never, garbage: .never,
        error500: .never, timeout: .never, slow: .never, slowFactor: 10)

    func validate() throws {
        guard slowFactor >= 1 else { throw FakeLLMConfigError("flakiness.slowFactor must be at least 1 (got \(slowFactor))") }
    }
}

/// All calls that arrive in `[start, end)` (nanoseconds of the endpoint's clock) fail with 500.
public struct OutageWindow: Codable, Hashable, Sendable {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }
}

public struct FakeLLMConfigError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One endpoint's behaviour. In a file, name a `profile` and override any field; fields left out
/// keep the profile's values, down to single fields of `latency`, `capacity` and `flakiness`:
/// `{"profile": "flaky", "flakiness": {"timeout": [0, 1]}, "capacity": {"concurrency": 4}}`.
public struct FakeLLMConfig: Codable, Hashable, Sendable {
    public var profile: String
    public var model: String
    public var latency: LatencyProfile
    public var capacity: CapacityProfile
    public var flakiness: FlakinessProfile
    public var outages: [OutageWindow]
    /// Continuous batching (nil: independent slots). Written only when set, so configurations
    /// without it encode as before.
    public var batching: BatchingModel?

    enum CodingKeys: String, CodingKey {
        case profile, model, latency, capacity, flakiness, outages, batching
    }

    public init(
        profile: String, model: String, latency: LatencyProfile, capacity: CapacityProfile, flakiness: FlakinessProfile,
        outages: [OutageWindow] = [], batching: BatchingModel? = nil
    ) {
        self.profile = profile
        self.model = model
        self.latency = latency
        self.capacity = capacity
        self.flakiness = flakiness
        self.outages = outages
        self.batching = batching
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decodeIfPresent(String.self, forKey: .profile) ?? FakeLLMProfile.realistic.rawValue
        guard let base = FakeLLMProfile(rawValue: name) else {
            throw DecodingError.dataCorruptedError(
                forKey: .profile, in: container,
                debugDescription: "unknown fake LLM profile '\(name)' (known: \(FakeLLMProfile.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = base.config
        model = try container.decodeIfPresent(String.self, forKey: .model) ?? model
        outages = try container.decodeIfPresent([OutageWindow].self, forKey: .outages) ?? outages
        latency = try Self.overriding(latency, in: container, forKey: .latency)
        capacity = try Self.overriding(capacity, in: container, forKey: .capacity)
        flakiness = try Self.overriding(flakiness, in: container, forKey: .flakiness)
        if container.contains(.batching) {
            if let base = batching {
                batching = try Self.overriding(base, in: container, forKey: .batching)
            } else {
                batching = try container.decodeIfPresent(BatchingModel.self, forKey: .batching)
            }
        }
        do { try validate() } catch let error as FakeLLMConfigError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    /// Decodes a partial object over `base`: the base is encoded, the given fields replace
    /// its fields, and the merged object is decoded, so every field keeps its own type check.
    private static func overriding<T: Codable>(
        _ base: T, in container: KeyedDecodingContainer<CodingKeys>, forKey key: CodingKeys
    ) throws -> T {
        guard container.contains(key) else { return base }
        let patch = try container.decode(PartialObject.self, forKey: key)
        return try patch.applied(to: base, codingPath: container.codingPath + [key])
    }

    public func validate() throws {
        guard !model.isEmpty else { throw FakeLLMConfigError("model must not be empty") }
        try latency.validate()
        try capacity.validate()
        try flakiness.validate()
        try batching?.validate()
        for window in outages where window.start > window.end {
            throw FakeLLMConfigError("outage window must satisfy start <= end (got \(window.start)...\(window.end))")
        }
    }
}

/// The named profiles. `realistic` is shaped like Llama-3.1-8B on vLLM with one GPU, `hosted`
/// like a small hosted model behind OpenAI's per-minute limits (the seed README warns about
/// its tokens-per-minute limit).
public enum FakeLLMProfile: String, CaseIterable, Sendable {
    case perfect
    case realistic
    case hosted
    case flaky
    case overloaded
    case vllmLlama8b = "vllm-llama-8b"

    static let ms: Int64 = 1_000_000

    public var config: FakeLLMConfig {
        switch self {
        case .perfect:
            return FakeLLMConfig(
                profile: rawValue, model: "fake-perfect",
                latency: LatencyProfile(
                    firstTokenNanos: IntRange(5 * Self.ms, 10 * Self.ms), perTokenNanos: IntRange(0, 0), tailChance: .never,
                    tailFactor: 1, generationTokens: IntRange(50, 100), votingTokens: IntRange(10, 20)),
                capacity: CapacityProfile(concurrency: 64, queueLimit: 4096, requestsPerMinute: nil, tokensPerMinute: nil),
                flakiness: .none)
        case .realistic:
            // Llama-3.1-8B on one GPU under vLLM: ~0.1 s to first token, ~25 ms per token per
            // request, samples of a few hundred tokens, short votes, a batch of 16 at once.
            return FakeLLMConfig(
                profile: rawValue, model: "fake-llama-3.1-8b",
                latency: LatencyProfile(
                    firstTokenNanos: IntRange(50 * Self.ms, 150 * Self.ms), perTokenNanos: IntRange(20 * Self.ms, 30 * Self.ms),
                    tailChance: Ratio(1, 50), tailFactor: 3, generationTokens: IntRange(150, 400), votingTokens: IntRange(40, 120)),
                capacity: CapacityProfile(concurrency: 16, queueLimit: 256, requestsPerMinute: nil, tokensPerMinute: nil),
                flakiness: FlakinessProfile(
                    missingPlan: .perMille(5), missingOutput: .perMille(5), wrongCase: .perMille(5),
                    voteWithoutSentence: .perMille(10), voteOutOfRange: .perMille(2), multiDigitVote: .perMille(2),
                    truncated: .perMille(5), empty: .perMille(1), garbage: .perMille(1), error500: .perMille(2),
                    timeout: .perMille(1), slow: .perMille(5), slowFactor: 10))
        case .hosted:
            return FakeLLMConfig(
                profile: rawValue, model: "fake-hosted-nano",
                latency: LatencyProfile(
                    firstTokenNanos: IntRange(200 * Self.ms, 600 * Self.ms), perTokenNanos: IntRange(5 * Self.ms, 10 * Self.ms),
                    tailChance: Ratio(1, 20), tailFactor: 4, generationTokens: IntRange(150, 400), votingTokens: IntRange(40, 120)),
                capacity: CapacityProfile(concurrency: 64, queueLimit: 1024, requestsPerMinute: 500, tokensPerMinute: 200_000),
                flakiness: FlakinessProfile(
                    missingPlan: .percent(2), missingOutput: .percent(1), wrongCase: .percent(2),
                    voteWithoutSentence: .percent(3), voteOutOfRange: .perMille(5), multiDigitVote: .perMille(5),
                    truncated: .percent(1), empty: .perMille(2), garbage: .perMille(2), error500: .perMille(5),
                    timeout: .perMille(2), slow: .percent(1), slowFactor: 10))
        case .flaky:
            var config = FakeLLMProfile.realistic.config
            config.profile = rawValue
            config.model = "fake-flaky"
            config.flakiness = FlakinessProfile(
                missingPlan: .percent(5), missingOutput: .percent(5), wrongCase: .percent(5),
                voteWithoutSentence: .percent(8), voteOutOfRange: .percent(4), multiDigitVote: .percent(4),
                truncated: .percent(5), empty: .percent(3), garbage: .percent(3), error500: .percent(5),
                timeout: .percent(2), slow: .percent(5), slowFactor: 20)
            return config
        case .vllmLlama8b:
            // Llama-3.1-8B-Instruct on one GPU under vLLM, fitted to the reference system's logs
            // (docs/FIDELITY.md has the fit and its residuals): continuous batching of up to 256
            // sequences, code samples of several hundred tokens, votes that reason briefly.
            return FakeLLMConfig(
                profile: rawValue, model: "fake-llama-3.1-8b-vllm",
                latency: LatencyProfile(
                    firstTokenNanos: IntRange(40 * Self.ms, 80 * Self.ms), perTokenNanos: IntRange(10 * Self.ms, 10 * Self.ms),
                    tailChance: .never, tailFactor: 1, generationTokens: IntRange(500, 1100), votingTokens: IntRange(150, 450)),
                capacity: CapacityProfile(concurrency: 256, queueLimit: 4096, requestsPerMinute: nil, tokensPerMinute: nil),
                flakiness: .none,
                batching: BatchingModel(slowdownPerMille: 28, prefillNanosPerToken: 100_000, choiceTokens: 800))
        case .overloaded:
            var config = FakeLLMProfile.realistic.config
            config.profile = rawValue
            config.model = "fake-overloaded"
            config.latency.tailChance = Ratio(1, 5)
            config.latency.tailFactor = 5
            config.capacity = CapacityProfile(concurrency: 2, queueLimit: 8, requestsPerMinute: 60, tokensPerMinute: 20_000)
            return config
        }
    }
}
