/// One fault the kernel can apply. Nodes are named, so a timeline reads well in a trace header
/// and survives a change in node declaration order.
public enum FaultAction: Codable, Hashable, Sendable {
    /// Volatile state, timers and undelivered inbound messages vanish.
    case crash(node: String)
    /// A fresh instance from the node's factory, incarnation + 1, a fresh random stream.
    case restart(node: String)
    /// The machine loses power: a crash whose disk keeps only what was synced. The kernel
    /// crashes the node; the world's disk model drops the unsynced writes (it sees the fault
    /// in the trace). A restart or the heal brings the node back.
    case powerLoss(node: String)
    /// A crash for good (a machine that never comes back): neither `restart` nor the heal
    /// brings the node back, so the rest of the system must do without it.
    case kill(node: String)
    /// A hung process: inputs wait, timers fire late.
    case pause(node: String)
    case resume(node: String)
    /// Blocks `from` -> `to` (and `to` -> `from` unless `oneWay`). Partitions stack; each is
    /// healed by its id.
    case partition(id: String, from: [String], to: [String], oneWay: Bool)
    case heal(id: String)
    /// Holds every message to or from the node until it is unclogged.
    case clogNode(node: String)
    case unclogNode(node: String)
    /// Holds the messages of one direction of one link.
    case clogLink(from: String, to: String)
    case unclogLink(from: String, to: String)
    /// Every message the node sends takes an extra delay drawn from `min...max`, so newer
    /// messages overtake older ones on the same link, and messages sent before a crash can
    /// arrive after the restart.
    case delayNode(node: String, min: Interval, max: Interval)
    case undelayNode(node: String)
    /// The same for one direction of one link.
    case delayLink(from: String, to: String, min: Interval, max: Interval)
    case undelayLink(from: String, to: String)
    /// Heals every partition, unclogs everything, resumes paused nodes and restarts crashed ones.
    case healAll
    /// Not a fault but a branch: from here on the network and every node draw their randomness
    /// from streams of `seed` instead of the run's seed (a node restarted later too). What
    /// happened before is untouched, so a run with a reseed at `t` replays the original run's
    /// prefix up to `t` and then goes its own way: how guided exploration branches a run from
    /// an interesting moment. It lives in the timeline so a branched run's trace is an
    /// ordinary trace that replay and shrink take unchanged.
    case reseed(seed: UInt64)

    /// The node names the action refers to, for validation.
    var nodeNames: [String] {
        switch self {
        case .crash(let n), .restart(let n), .kill(let n), .powerLoss(let n), .pause(let n), .resume(let n), .clogNode(let n), .unclogNode(let n),
            .delayNode(let n, _, _), .undelayNode(let n):
            [n]
        case .partition(_, let from, let to, _): from + to
        case .clogLink(let from, let to), .unclogLink(let from, let to), .delayLink(let from, let to, _, _), .undelayLink(let from, let to): [from, to]
        case .heal, .healAll, .reseed: []
        }
    }

    /// A short readable form for timelines and reports.
    public var summary: String {
        switch self {
        case .crash(let n): "crash \(n)"
        case .restart(let n): "restart \(n)"
        case .kill(let n): "kill \(n)"
        case .powerLoss(let n): "power loss \(n)"
        case .pause(let n): "pause \(n)"
        case .resume(let n): "resume \(n)"
        case .partition(let id, let from, let to, let oneWay):
            "partition \(id) [\(from.joined(separator: ","))] \(oneWay ? "->" : "|") [\(to.joined(separator: ","))]"
        case .heal(let id): "heal \(id)"
        case .clogNode(let n): "clog \(n)"
        case .unclogNode(let n): "unclog \(n)"
        case .clogLink(let from, let to): "clog \(from)->\(to)"
        case .unclogLink(let from, let to): "unclog \(from)->\(to)"
        case .delayNode(let n, let min, let max): "delay \(n) by \(min)...\(max)"
        case .undelayNode(let n): "undelay \(n)"
        case .delayLink(let from, let to, let min, let max): "delay \(from)->\(to) by \(min)...\(max)"
        case .undelayLink(let from, let to): "undelay \(from)->\(to)"
        case .healAll: "heal all"
        case .reseed(let seed): "reseed \(seed)"
        }
    }

    /// Whether the action is a branch point rather than a fault: it injects nothing, so the
    /// checkers' fault windows and the fault counts leave it out.
    public var isReseed: Bool {
        if case .reseed = self { return true }
        return false
    }

    @usableFromInline func stableHash(into hasher: inout TraceHash) {
        hasher.combine(summary)
    }
}

/// A fault at a virtual instant. A run's timeline is part of its inputs and is recorded in the
/// trace header, so a replay re-applies exactly the same faults.
public struct FaultEntry: Codable, Hashable, Sendable {
    public var at: Instant
    public var action: FaultAction

    public init(at: Instant, action: FaultAction) {
        self.at = at
        self.action = action
    }
}
