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
}

public enum ClientTimer: Codable, Hashable, Sendable {
    /// The k-th burst of the workload is due.
    case burst(Int)
    case resubmit(requestID: UInt64)
    case poll(requestID: UInt64)
}

public enum WorldObservation: SimPayload, Equatable {
    case core(CoreObservation)
    case client(ClientObservation)
}

/// What a simulated client saw.
public enum ClientObservation: Codable, Hashable, Sendable {
    case submitted(requestID: UInt64)
    case acknowledged(requestID: UInt64, task: TaskID)
    case rejected(requestID: UInt64, reason: String)
    case status(task: TaskID, status: TaskStatusView)
    /// The task reached a final status, `latency` after its first submit.
    case finished(task: TaskID, latency: Int64, completed: Bool)
    /// Every request of the workload has been submitted.
    case allSubmitted
}

// Both random protocols need only `next()`, which the kernel's generator has.
extension SimRandom: EntropySource {}
extension SimRandom: RandomSource {}

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
