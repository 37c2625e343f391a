@testable import Sim

/// A scripted world for kernel tests: nodes send what they are told to and log what they see.
enum EchoWorld: SimWorld {
    typealias Message = EchoMessage
    typealias Timer = EchoTimer
    typealias Observation = EchoObservation
}

struct EchoMessage: SimPayload, Equatable {
    var value: Int
    func stableHash(into hasher: inout TraceHash) { hasher.combine(value) }
}

struct EchoTimer: SimTimer {
    var name: String
    func stableHash(into hasher: inout TraceHash) { hasher.combine(name) }
}

struct EchoObservation: SimPayload, Equatable {
    var text: String
    func stableHash(into hasher: inout TraceHash) { hasher.combine(text) }
}

/// On start: arms the configured timers and sends the configured messages. On a message or a
/// timer: records it as an observation (with the incarnation) and does the configured follow-up.
struct EchoNode: SimProcess {
    typealias World = EchoWorld
    var boot: NodeBoot
    var sendsOnStart: [(to: Int, value: Int)] = []
    var timersOnStart: [(name: String, after: Interval)] = []
    /// On timer fire: messages to send.
    var sendsOnTimer: [String: [(to: Int, value: Int)]] = [:]

    mutating func handle(_ input: ProcessInput<EchoWorld>, context: inout ProcessContext<EchoWorld>) {
        switch input {
        case .start:
            context.observe(EchoObservation(text: "start inc=\(boot.incarnation)"))
            for timer in timersOnStart { context.setTimer(EchoTimer(name: timer.name), after: timer.after) }
            for send in sendsOnStart { context.send(EchoMessage(value: send.value), to: NodeID(send.to)) }
        case .message(let from, let message):
            context.observe(EchoObservation(text: "got \(message.value) from \(from.index) at \(context.now.nanoseconds)"))
        case .timer(let timer):
            context.observe(EchoObservation(text: "timer \(timer.name) at \(context.now.nanoseconds)"))
            for send in sendsOnTimer[timer.name] ?? [] {
                context.send(EchoMessage(value: send.value), to: NodeID(send.to))
            }
        }
    }
}

/// Records every trace event of a simulation.
final class EventLog<W: SimWorld> {
    var entries: [TraceEntry<W>] = []
    init(_ simulation: Simulation<W>) {
        simulation.eventSink = { [unowned self] in self.entries.append($0) }
    }
}

extension EventLog where W == EchoWorld {
    var observations: [String] {
        entries.compactMap { if case .observe(_, let o) = $0.event { o.text } else { nil } }
    }
    func observations(of node: Int) -> [String] {
        entries.compactMap {
            if case .observe(let n, let o) = $0.event, n.index == node { o.text } else { nil }
        }
    }
    var drops: [(UInt64, DropReason)] {
        entries.compactMap { if case .drop(let id, _, _, let reason) = $0.event { (id, reason) } else { nil } }
    }
}

/// A fixed-latency network so tests can reason about exact delivery times.
let fixedLatency = NetworkConfig(
    defaultLink: LinkConfig(
        latency: LatencyModel(min: .milliseconds(10), typical: .milliseconds(10), tail: .milliseconds(10), tailChance: .never)))

func echoSimulation(
    nodes: [(inout EchoNode) -> Void], network: NetworkConfig = fixedLatency, faults: [FaultEntry] = [], seed: UInt64 = 1
) throws -> Simulation<EchoWorld> {
    let specs = nodes.enumerated().map { index, configure in
        NodeSpec<EchoWorld>("n\(index)") { boot in
            var node = EchoNode(boot: boot)
            configure(&node)
            return node
        }
    }
    return try Simulation(seed: seed, network: network, nodes: specs, faults: faults)
}

func at(_ ms: Int64) -> Instant { .zero + .milliseconds(ms) }
