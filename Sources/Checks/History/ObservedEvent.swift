import Core

/// One observation as the checkers see it, with its place in the trace.
public struct ObservedEvent: Sendable {
    public var index: UInt64
    public var time: Instant
    public var node: Address
    public var observation: WorldObservation

    public init(index: UInt64, time: Instant, node: Address, observation: WorldObservation) {
        self.index = index
        self.time = time
        self.node = node
        self.observation = observation
    }

    public var summary: String { "#\(index) t=\(time) \(node): \(observation)" }
}

/// One piece of message traffic, as the checkers that audit calls see it.
public struct MessageEvent: Sendable {
    public enum Fact: Sendable {
        /// A send of the LLM work family (`llmWork`, `llmWorkReply`, `llmWorkCheck`,
        /// `llmWorkHeld`), a proxy heartbeat, or a region's claim; other sends are not passed on.
        case sent(id: UInt64, from: Address, to: Address, CoreMessage)
        /// The delivery, loss or duplication of a message whose send was passed on (a copy is
        /// followed like the original).
        case delivered(id: UInt64, to: Address)
        case dropped(id: UInt64)
        case duplicated(id: UInt64, copy: UInt64)
        case started(node: Address, incarnation: UInt32)
    }

    public var index: UInt64
    public var time: Instant
    public var fact: Fact

    public init(index: UInt64, time: Instant, fact: Fact) {
        self.index = index
        self.time = time
        self.fact = fact
    }

    public var summary: String {
        switch fact {
        case .sent(let id, let from, let to, let message): "#\(index) t=\(time) \(from) -> \(to) (message \(id)): \(message)"
        case .delivered(let id, let to): "#\(index) t=\(time) message \(id) delivered to \(to)"
        case .dropped(let id): "#\(index) t=\(time) message \(id) dropped"
        case .duplicated(let id, let copy): "#\(index) t=\(time) message \(id) duplicated as \(copy)"
        case .started(let node, let incarnation): "#\(index) t=\(time) \(node) started (incarnation \(incarnation))"
        }
    }
}
