/// One LLM call the loop wants made. `wave` identifies the phase it belongs to: replies of an
/// earlier wave (a closed vote, a retried round) are ignored.
public struct CallRequest: Hashable, Sendable {
    public let wave: Int
    public let kind: CallKind
    public let slot: Int
    public let prompt: String
    public let stop: [String]
}

/// What the loop needs next.
public enum NodeStep: Hashable, Sendable {
    case issue([CallRequest])
    case wait
    case succeeded(output: String)
    case failed(NodeFailure)
}

/// Why a node gave up: only for failures that retrying the round did not fix. Transient call
/// failures never reach the loop; the owner retries those calls.
public enum NodeFailure: Hashable, Sendable {
    /// Every attempt of `round` chose a winner without the section it needed; `winners` are
    /// the digests of those winning answers, one per attempt.
    case malformed(round: Int, winners: [String])
    /// The LLM refused a whole wave of calls (every sample, or every vote) with an error that
    /// retrying cannot fix.
    case refused(round: Int, status: Int, message: String)
}

public struct NodeRunSettings: Hashable, Sendable {
    public var rounds: Int
    public var samples: Int
    public var voters: Int
    public var voting: VotingPolicy
    /// Extra attempts of a round that failed before the node fails.
    public var roundRetries: Int

    public init(rounds: Int, samples: Int, voters: Int, voting: VotingPolicy, roundRetries: Int) {
        precondition(rounds >= 1 && samples >= 1 && voters >= 1, "a node needs R, S, V >= 1 (\(rounds), \(samples), \(voters))")
        self.rounds = rounds
        self.samples = samples
        self.voters = voters
        self.voting = voting
        self.roundRetries = roundRetries
    }
}

/// The reference's tree-of-thoughts loop for one graph node, as a pure value: R rounds of S
/// samples and V votes. A round fails when every sample fails, every vote fails, or the winner
/// lacks the section the round needs (a plan, or in the last round an output); a failed round
/// is retried `roundRetries` times, then the node fails with the reason.
public struct NodeRun: Sendable {
    public let task: String
    public let parentResults: [(String, String)]
    public let settings: NodeRunSettings

    public private(set) var round = 1
    public private(set) var attempt = 1
    public private(set) var wave = 0
    public private(set) var hints: String?
    private var voting = false
    private var samples: [Result<String, CallFailure>?] = []
    private var choices: [String] = []
    private var tally: [Int] = []
    private var votesAnswered = 0
    private var votesCast = 0
    /// Votes that named no valid choice and were replaced by a random one (as the reference does).
    public private(set) var randomVotes = 0
    /// The current round's failed attempts: the malformed winners' digests, and the last refusal.
    private var malformedWinners: [String] = []
    private var lastRefusal: CallFailure?

    /// `resumeAfter`: the last round a round checkpoint saved, and its winning plan; the node
    /// starts at the next round with that plan as its hints.
    public init(task: String, parentResults: [(String, String)], settings: NodeRunSettings, resumeAfter: (round: Int, plan: String)? = nil) {
        self.task = task
        self.parentResults = parentResults
        self.settings = settings
        if let resumeAfter, resumeAfter.round < settings.rounds {
            round = resumeAfter.round + 1
            hints = resumeAfter.plan
        }
    }

    var isFinalRound: Bool { round == settings.rounds }

    /// The first calls.
    public mutating func start() -> NodeStep { startSampling() }

    /// Records one call's answer (or failure) and says what comes next.
    public mutating func record<R: RandomSource>(_ call: CallRequest, result: Result<String, CallFailure>, random: inout R) -> NodeStep {
        guard call.wave == wave else { return .wait }
        return voting ? recordVote(call, result, &random) : recordSample(call, result)
    }

    private mutating func startSampling() -> NodeStep {
        wave += 1
        voting = false
        samples = Array(repeating: nil, count: settings.samples)
        let prompt = Prompts.generation(task: task, parentResults: parentResults, hints: hints)
        let stop = Prompts.generationStops(finalRound: isFinalRound)
        return .issue((0..<settings.samples).map { CallRequest(wave: wave, kind: .generation, slot: $0, prompt: prompt, stop: stop) })
    }

    private mutating func recordSample(_ call: CallRequest, _ result: Result<String, CallFailure>) -> NodeStep {
        guard samples.indices.contains(call.slot), samples[call.slot] == nil else { return .wait }
        samples[call.slot] = result
        guard samples.allSatisfy({ $0 != nil }) else { return .wait }
        choices = samples.compactMap { if case .success(let text)? = $0 { text } else { nil } }
        if choices.isEmpty {
            let last = samples.compactMap { if case .failure(let failure)? = $0 { failure } else { nil } }.last ?? CallFailure("unknown")
            return roundFailed(refusal: CallFailure("all \(settings.samples) samples failed (last: \(last.reason))", status: last.status))
        }
        if choices.count == 1 { return decide(winner: 0) }  // nothing to vote on
        wave += 1
        voting = true
        tally = Array(repeating: 0, count: choices.count)
        votesAnswered = 0
        votesCast = 0
        let prompt = Prompts.voting(task: task, choices: choices)
        return .issue((0..<settings.voters).map { CallRequest(wave: wave, kind: .voting, slot: $0, prompt: prompt, stop: []) })
    }

    private mutating func recordVote<R: RandomSource>(_ call: CallRequest, _ result: Result<String, CallFailure>, _ random: inout R) -> NodeStep {
        votesAnswered += 1
        if case .failure(let failure) = result { lastRefusal = failure }
        if case .success(let text) = result {
            let vote: Int
            if let parsed = Prompts.parseVote(text, choices: choices.count) {
                vote = parsed
            } else {
                vote = random.index(below: choices.count) + 1
                randomVotes += 1
            }
            tally[vote - 1] += 1
            votesCast += 1
        }
        let remaining = settings.voters - votesAnswered
        let leader = tally.indices.max { tally[$0] < tally[$1] || (tally[$0] == tally[$1] && $0 > $1) } ?? 0
        let runnerUp = tally.indices.filter { $0 != leader }.map { tally[$0] }.max() ?? 0
        let decided =
            remaining == 0
            || (settings.voting == .earlyMajority
                && (tally[leader] >= settings.voters / 2 + 1 || tally[leader] - runnerUp > remaining))
        guard decided else { return .wait }
        if votesCast == 0 {
            let last = lastRefusal ?? CallFailure("unknown")
            return roundFailed(refusal: CallFailure("all \(settings.voters) votes failed (last: \(last.reason))", status: last.status))
        }
        return decide(winner: leader)
    }

    private mutating func decide(winner: Int) -> NodeStep {
        let text = choices[winner]
        if isFinalRound {
            guard let output = Prompts.output(of: text) else { return roundFailed(malformedWinner: text) }
            wave += 1
            return .succeeded(output: output)
        }
        guard let plan = Prompts.plan(of: text) else { return roundFailed(malformedWinner: text) }
        hints = plan
        round += 1
        attempt = 1
        malformedWinners = []
        lastRefusal = nil
        return startSampling()
    }

    /// An attempt of the round failed: its winner lacked a section (`malformedWinner`), or the
    /// LLM refused the wave (`refusal`). The round is tried again up to `roundRetries` times.
    private mutating func roundFailed(malformedWinner: String? = nil, refusal: CallFailure? = nil) -> NodeStep {
        if let malformedWinner { malformedWinners.append(FNV64.hex(FNV64.hash(malformedWinner))) }
        if let refusal { lastRefusal = refusal }
        guard attempt > settings.roundRetries else {
            attempt += 1
            return startSampling()
        }
        wave += 1
        if malformedWinners.count == attempt {
            return .failed(.malformed(round: round, winners: malformedWinners))
        }
        let refused = lastRefusal ?? CallFailure("unknown")
        return .failed(.refused(round: round, status: refused.status, message: refused.reason))
    }

    /// Calls this node will make if nothing fails: what `srtf` counts (in half-calls, voters
    /// weighted one half).
    public var remainingHalfCalls: Int {
        let roundsLeft = settings.rounds - round + 1
        return roundsLeft * (2 * settings.samples + settings.voters)
    }
}

/// Why a call produced no answer.
public struct CallFailure: Error, Hashable, Sendable {
    public let reason: String
    /// The HTTP status the LLM answered, 0 when it did not answer.
    public let status: Int
    public init(_ reason: String, status: Int = 0) {
        self.reason = reason
        self.status = status
    }
}
