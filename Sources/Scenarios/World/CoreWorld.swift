import Checks
import Core
import Determinism
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
extension WorldObservation: SimPayload {}

public enum WorldTimer: SimTimer {
    case core(CoreTimer)
    case client(ClientTimer)
    /// An LLM endpoint's call finishes.
    case llmDone(callID: UInt64)
    /// A batching LLM endpoint's batch has a call to finish.
    case llmWake

    /// The case in the top four bits, the id (or the burst index) below: timers that differ
    /// only in an id above 2^60 share a key, and the kernel's table tells them apart.
    public var tableKey: UInt64 {
        func key(_ kind: UInt64, _ id: UInt64) -> UInt64 { kind << 60 ^ id }
        switch self {
        case .core(.heartbeat): return key(0, 0)
        case .core(.sweep): return key(0, 1)
        case .core(.workCheck): return key(0, 2)
        case .core(.storeRetry(let id)): return key(1, id)
        case .core(.llmTimeout(let id)): return key(2, id)
        case .core(.llmRetry(let id)): return key(3, id)
        case .core(.workTimeout(let id)): return key(4, id)
        case .core(.capacityRetry(let id)): return key(5, id)
        case .client(.burst(let index)): return key(6, UInt64(bitPattern: Int64(index)))
        case .client(.resubmit(let id)): return key(7, id)
        case .client(.poll(let id)): return key(8, id)
        case .llmDone(let id): return key(9, id)
        case .llmWake: return key(10, 0)
        }
    }
}

public enum ClientTimer: Codable, Hashable, Sendable {
    /// The k-th burst of the workload is due.
    case burst(Int)
    case resubmit(requestID: UInt64)
    case poll(requestID: UInt64)
}

/// Node names and ids of one run, fixed before the simulation is built.
public final class Directory: @unchecked Sendable {
    // Written once at construction, read-only afterwards.
    public let names: [String]
    /// An open-addressing table of the names by their FNV-1a digest: every send of every role
    /// resolves its address here, and a `Dictionary` ran a seeded SipHash for each one. Per
    /// slot: the node's index (-1: empty) and its name's digest.
    private let slots: [Int32]
    private let digests: [UInt64]
    private let mask: Int

    public init(names: [String]) {
        precondition(Set(names).count == names.count, "the node names repeat: \(names)")
        self.names = names
        var capacity = 8
        while capacity < names.count * 2 { capacity *= 2 }
        var slots = [Int32](repeating: -1, count: capacity)
        var digests = [UInt64](repeating: 0, count: capacity)
        for (index, name) in names.enumerated() {
            let digest = FNV64.hash(name)
            var slot = Int(truncatingIfNeeded: digest >> 32) & (capacity - 1)
            while slots[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = Int32(index)
            digests[slot] = digest
        }
        self.slots = slots
        self.digests = digests
        mask = capacity - 1
    }

    public func id(_ name: String) -> NodeID {
        guard let id = idIfKnown(name) else { preconditionFailure("message to unknown address '\(name)'") }
        return id
    }

    /// The node named `name`, or nil for a name the run does not have (a recorded trace may
    /// name anything).
    public func idIfKnown(_ name: String) -> NodeID? {
        let digest = FNV64.hash(name)
        var slot = Int(truncatingIfNeeded: digest >> 32) & mask
        while slots[slot] >= 0 {
            if digests[slot] == digest, names[Int(slots[slot])] == name { return NodeID(Int(slots[slot])) }
            slot = (slot + 1) & mask
        }
        return nil
    }

    public func name(_ id: NodeID) -> String { names[id.index] }

    /// The simulated node of a role: the node is named by the address's name.
    public func id(_ address: Address) -> NodeID { id(address.name) }
    public func address(_ id: NodeID) -> Address { Address(names[id.index]) }
}

extension LLMCallRecord {
    /// The record of a call from what the endpoint received and sent: its kind and the parents
    /// its prompt embeds are read from the prompt's text. The simulator's endpoints and
    /// `cluster-test` (from the real fake LLM's call log) both build records this way.
    public init(task: TaskID, node: String, prompt: String, answer: String?, status: Int, fault: String?) {
        self.init(
            task: task, node: node, prompt: prompt, kind: PromptKind.classify(prompt), promptDigest: FNV64.hash(prompt), answer: answer, status: status,
            fault: fault)
    }

    /// The same record from a prompt already read: `kind` and `promptDigest` (FNV-1a of the
    /// prompt) must be what `PromptKind.classify` and `FNV64.hash` give for it.
    public init(task: TaskID, node: String, prompt: String, kind promptKind: PromptKind, promptDigest: UInt64, answer: String?, status: Int, fault: String?) {
        let kind: CallKind
        if case .voting = promptKind { kind = .voting } else { kind = .generation }
        self.init(
            task: task, node: node, kind: kind, promptDigest: FNV64.hex(promptDigest),
            parents: kind == .generation ? PromptReading.embeddedParents(prompt) : [], answerDigest: answer.map { FNV64.hex(FNV64.hash($0)) },
            status: status, fault: fault)
    }
}
