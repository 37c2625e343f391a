import Core
import FakeLLM
import Sim

/// The coordination core as a simulated world: Core's messages travel the simulated network,
/// roles and clients and LLM endpoints are nodes.
public enum CoreWorld: SimWorld {
    public typealias Message = CoreMessage
    public typealias Timer = WorldTimer
    public typealias Observation = WorldObservation
}

extension CoreMessage: SimPayload {}

public enum WorldTimer: SimPayload, Hashable {
    case core(CoreTimer)
    case client(ClientTimer)
    /// An LLM endpoint's call finishes.
    case llmDone(callID: UInt64)
    /// A batching LLM endpoint's batch has a call to finish.
    case llmWake
}

public enum ClientTimer: Codable, Hashable, Sendable {
    /// The k-th burst of the workload is due.
    case burst(Int)
    case resubmit(requestID: UInt64)
    case poll(requestID: UInt64)
}

public enum WorldObservation: SimPayload, Equatable {
    // Indirect, like the large messages: observations travel as effects and trace events.
    indirect case core(CoreObservation)
    case client(ClientObservation)
    /// What an LLM endpoint received and answered: the ground truth the checkers judge the
    /// roles' claims against.
    indirect case llm(LLMCallRecord)

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

    /// The record of a call from what the endpoint received and sent: its kind and the parents
    /// its prompt embeds are read from the prompt's text. The simulator's endpoints and
    /// `cluster-test` (from the real fake LLM's call log) both build records this way.
    public init(task: TaskID, node: String, prompt: String, answer: String?, status: Int, fault: String?) {
        let kind: CallKind
        if case .voting = PromptKind.classify(prompt) { kind = .voting } else { kind = .generation }
        self.init(
            task: task, node: node, kind: kind, promptDigest: FNV64.hex(FNV64.hash(prompt)),
            parents: kind == .generation ? PromptReading.embeddedParents(prompt) : [], answerDigest: answer.map { FNV64.hex(FNV64.hash($0)) },
            status: status, fault: fault)
    }

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
    case submitted(requestID: UInt64)
    case acknowledged(requestID: UInt64, task: TaskID)
    case rejected(requestID: UInt64, reason: String)
    /// A second acknowledgement of an acknowledged request, naming a different task.
    case conflictingAck(requestID: UInt64, task: TaskID)
    case status(task: TaskID, status: TaskStatusView)
    /// The task reached a final status, `latency` after its first submit.
    case finished(task: TaskID, latency: Int64, completed: Bool)
    /// Every request of the workload has been submitted.
    case allSubmitted
}


/// Node names and ids of one run, fixed before the simulation is built.
public final class Directory: @unchecked Sendable {
    // Written once at construction, read-only afterwards.
    public let names: [String]
    private let ids: [String: NodeID]

    public init(names: [String]) {
        self.names = names
        ids = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, NodeID($0)) })
    }

    public func id(_ name: String) -> NodeID {
        guard let id = ids[name] else { preconditionFailure("message to unknown address '\(name)'") }
        return id
    }

    public func name(_ id: NodeID) -> String { names[id.index] }
}
