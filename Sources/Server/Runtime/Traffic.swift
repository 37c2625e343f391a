import Core
import Foundation

/// One message fact a real process recorded: the real run's counterpart of the simulator's
/// send, deliver, drop and start trace events, for the checkers that judge message traffic
/// (call accounting, newest-life claims). Only the LLM work family (`llmWork`,
/// `llmWorkReply`, `llmWorkCheck`, `llmWorkHeld`, prompts left out), proxy heartbeats and
/// regions' claims are recorded: those are what the checkers read, and the rest would only
/// make history files large.
public struct TrafficLine: Codable, Sendable {
    public enum Fact: Codable, Sendable {
        case sent(id: UInt64, from: Address, to: Address, message: CoreMessage)
        /// The receiving role took the message out of its mailbox and handled it.
        case delivered(id: UInt64, to: Address)
        /// Certainly lost (a full link queue or mailbox, no route). A batch whose post failed
        /// may or may not have arrived, so it is not recorded as dropped.
        case dropped(id: UInt64)
        case started(node: Address, incarnation: UInt32)
    }

    /// Unix time in nanoseconds.
    public var time: Int64
    public var traffic: Fact

    public init(time: Int64, traffic: Fact) {
        self.time = time
        self.traffic = traffic
    }

    /// Whether the checkers need this message's traffic.
    static func isTraced(_ message: CoreMessage) -> Bool {
        switch message {
        case .llmWork, .llmWorkReply, .llmWorkCheck, .llmWorkHeld, .proxyHeartbeat, .storeRequest(_, .claim): true
        default: false
        }
    }

    /// The message as recorded: a work request without its prompt.
    static func recorded(_ message: CoreMessage) -> CoreMessage {
        guard case .llmWork(var work) = message else { return message }
        work.prompt = ""
        return .llmWork(work)
    }
}

/// Records a process's message traffic into its history file. Message ids are unique across the
/// processes of a cluster: a random 32-bit tag of this process start, then a counter; the id
/// travels with the message over the role plane so the receiver records the same one.
public final class TrafficRecorder: @unchecked Sendable {
    private let writer: HistoryWriter
    private let tag = UInt64(UInt32.random(in: 1...UInt32.max)) << 32
    private let counter = LockedCounter()

    public init(writer: HistoryWriter) {
        self.writer = writer
    }

    /// Records a send and returns the message's id, or nil for a message that is not traced.
    func sent(_ message: CoreMessage, from: Address, to: Address) -> UInt64? {
        guard TrafficLine.isTraced(message) else { return nil }
        let id = tag | UInt64(counter.increment())
        record(.sent(id: id, from: from, to: to, message: TrafficLine.recorded(message)))
        return id
    }

    func delivered(_ id: UInt64?, to: Address) {
        if let id { record(.delivered(id: id, to: to)) }
    }

    func dropped(_ id: UInt64?) {
        if let id { record(.dropped(id: id)) }
    }

    func started(_ node: Address, incarnation: UInt32) {
        record(.started(node: node, incarnation: incarnation))
    }

    private func record(_ fact: TrafficLine.Fact) {
        writer.append(TrafficLine(time: HistoryLine.now(), traffic: fact))
    }
}
