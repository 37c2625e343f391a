import Core

/// Indirect, like `CoreMessage`: observations travel as effects and trace events, and a copy
/// of a boxed case is one retain.
public indirect enum WorldObservation: Codable, Sendable, Equatable {
    case core(CoreObservation)
    case client(ClientObservation)
    /// What an LLM endpoint received and answered: the ground truth the checkers judge the
    /// roles' claims against.
    case llm(LLMCallRecord)

    /// The task the observation is about, if it is about one.
    public var task: TaskID? {
        switch self {
        case .core(let observation): observation.task
        case .llm(let record): record.task
        case .client(.acknowledged(_, let task)), .client(.conflictingAck(_, let task)), .client(.status(let task, _)), .client(.finished(let task, _, _)):
            task
        case .client: nil
        }
    }

    /// A note for readers of the trace, not a fact a checker judges.
    public var isNote: Bool { if case .core(.note) = self { true } else { false } }
}

/// One call as the LLM endpoint saw it: the labels it came with, what its prompt actually
/// embeds, and what the endpoint answered.
public struct LLMCallRecord: Codable, Hashable, Sendable {
    public var task: TaskID
    public var node: String
    public var kind: CallKind
    public var promptDigest: String
    /// The parent results the prompt's text embeds (node and result digest), read from the
    /// text that was sent, not from what the sender declared.
    public var parents: [ParentResult]
    /// The digest of the answer text (nil: no text answer).
    public var answerDigest: String?
    /// 200 for a text answer, the error status otherwise, 0 for a call never answered.
    public var status: Int
    /// The misbehaviour the fake LLM drew for the call (`ContentFault` or `TransportFault`).
    public var fault: String?

    public init(
        task: TaskID, node: String, kind: CallKind, promptDigest: String, parents: [ParentResult], answerDigest: String?, status: Int,
        fault: String?
    ) {
        self.task = task
        self.node = node
        self.kind = kind
        self.promptDigest = promptDigest
        self.parents = parents
        self.answerDigest = answerDigest
        self.status = status
        self.fault = fault
    }
}

/// What a simulated client saw.
public enum ClientObservation: Codable, Hashable, Sendable {
    /// A request was sent for the first time, with the query it asks for (nil in traces written
    /// before queries were recorded): what the justified-rejections checker judges a refusal by.
    case submitted(requestID: UInt64, query: Query? = nil)
    case acknowledged(requestID: UInt64, task: TaskID)
    case rejected(requestID: UInt64, reason: String)
    /// A second acknowledgement of an acknowledged request, naming a different task.
    case conflictingAck(requestID: UInt64, task: TaskID)
    case status(task: TaskID, status: TaskStatusView)
    /// The task reached a final status, `latency` after its first submit.
    case finished(task: TaskID, latency: Interval, completed: Bool)
    /// Every request of the workload has been submitted.
    case allSubmitted
}
