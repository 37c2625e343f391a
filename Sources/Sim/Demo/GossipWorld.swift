/// A small agent-agnostic world for exercising the kernel: every node starts a few tokens, and
/// every node that receives a token forwards it to a random peer, so the message population
/// stays constant until faults destroy tokens. Each node reports its count on a periodic tick.
/// The kernel benchmark and the `agentos sim` commands run it.
public enum GossipWorld: SimWorld {
    public typealias Message = GossipMessage
    public typealias Timer = GossipTimer
    public typealias Observation = GossipObservation
}

public struct GossipMessage: SimPayload, Equatable {
    public var token: UInt32
    public var hop: UInt32

    public init(token: UInt32, hop: UInt32) {
        self.token = token
        self.hop = hop
    }

    @inlinable
    public func stableHash(into hasher: inout TraceHash) {
        hasher.combine(UInt64(token) << 32 | UInt64(hop))
    }
}

public enum GossipTimer: String, SimTimer {
    case tick

    public var tableKey: UInt64 { 1 }

    public func stableHash(into hasher: inout TraceHash) { hasher.combine(byte: 1) }
}

public struct GossipObservation: SimPayload, Equatable {
    public var received: UInt64

    public func stableHash(into hasher: inout TraceHash) { hasher.combine(received) }
}

public struct GossipNode: SimProcess {
    public typealias World = GossipWorld

    // 24 bytes in all, so the kernel stores the node inside its existential container instead
    // of a separate box (a boxed process pays a uniqueness check on every event it handles).
    // `GossipConfig` keeps the values in these ranges.
    let index: UInt16
    let nodeCount: UInt16
    let tokens: UInt32
    let tickInterval: Interval
    var received: UInt64 = 0

    public init(boot: NodeBoot, tokens: Int, tickInterval: Interval) {
        precondition(boot.nodeCount <= Int(UInt16.max) && tokens >= 0 && tokens <= Int(UInt32.max),
            "gossip node \(boot.name): \(boot.nodeCount) nodes and \(tokens) tokens exceed its limits")
        self.index = UInt16(boot.id.index)
        self.nodeCount = UInt16(boot.nodeCount)
        self.tokens = UInt32(tokens)
        self.tickInterval = tickInterval
    }

    public mutating func handle(_ input: ProcessInput<GossipWorld>, context: inout ProcessContext<GossipWorld>) {
        switch input {
        case .start:
            for k in 0..<tokens {
                let token = UInt32(index) &* tokens &+ k
                context.send(GossipMessage(token: token, hop: 0), to: randomPeer(&context.random))
            }
            context.setTimer(.tick, after: tickInterval)
        case .message(_, let message):
            received += 1
            context.send(GossipMessage(token: message.token, hop: message.hop &+ 1), to: randomPeer(&context.random))
        case .timer:
            context.observe(GossipObservation(received: received))
            context.setTimer(.tick, after: tickInterval)
        }
    }

    @inline(__always)
    private func randomPeer(_ random: inout SimRandom) -> NodeID {
        // Any node but this one: draw among n-1 and skip over ourselves.
        let draw = random.index(below: Int(nodeCount) - 1)
        return NodeID(draw >= Int(index) ? draw + 1 : draw)
    }
}

/// The configuration of a gossip run, as recorded in its trace header.
public struct GossipConfig: Codable, Hashable, Sendable {
    public var nodes: Int
    public var tokensPerNode: Int
    public var tickInterval: Interval
    /// Length of the safety phase (faults on).
    public var duration: Interval
    /// Virtual-time budget of the liveness phase (faults healed).
    public var livenessBudget: Interval
    public var faults: FaultMix

    public init(
        nodes: Int = 8, tokensPerNode: Int = 4, tickInterval: Interval = .milliseconds(100),
        duration: Interval = .seconds(10), livenessBudget: Interval = .seconds(2), faults: FaultMix = .standard
    ) {
        self.nodes = nodes
        self.tokensPerNode = tokensPerNode
        self.tickInterval = tickInterval
        self.duration = duration
        self.livenessBudget = livenessBudget
        self.faults = faults
    }

    public func validate() throws {
        guard nodes >= 2 else { throw SimConfigError.invalid("nodes must be at least 2 (got \(nodes))") }
        guard nodes <= 4096 else { throw SimConfigError.invalid("nodes must be at most 4096 (got \(nodes))") }
        guard tokensPerNode >= 0, tokensPerNode <= 1_000_000 else {
            throw SimConfigError.invalid("tokensPerNode must be in 0...1000000 (got \(tokensPerNode))")
        }
        guard tickInterval.nanoseconds > 0 else { throw SimConfigError.invalid("tickInterval must be positive") }
        guard duration.nanoseconds >= 0 else { throw SimConfigError.invalid("duration must be >= 0") }
        guard livenessBudget.nanoseconds >= 0 else { throw SimConfigError.invalid("livenessBudget must be >= 0") }
        try faults.validate()
    }

    public var nodeNames: [String] { (0..<nodes).map { "n\($0)" } }
}

extension FaultMix {
    /// Every kind of fault, often enough that a 10-second run sees each a few times.
    public static let standard = FaultMix(
        crash: FaultRate(every: DurationRange(.seconds(1), .seconds(3)), lasting: DurationRange(.milliseconds(100), .seconds(1))),
        pause: FaultRate(every: DurationRange(.seconds(2), .seconds(4)), lasting: DurationRange(.milliseconds(50), .milliseconds(500))),
        partition: FaultRate(every: DurationRange(.seconds(2), .seconds(5)), lasting: DurationRange(.milliseconds(200), .seconds(1))),
        clog: FaultRate(every: DurationRange(.seconds(2), .seconds(4)), lasting: DurationRange(.milliseconds(100), .milliseconds(800))))
}

/// Builds, drives and replays gossip runs: the glue the CLI and the tests share.
public enum GossipRun {
    public static let worldName = "kernel-demo"

    /// The fault timeline a seed implies for a configuration.
    public static func plannedFaults(seed: UInt64, config: GossipConfig) -> [FaultEntry] {
        var random = SimRandom(seed: seed, stream: .faults)
        return FaultPlanner.plan(
            mix: config.faults, nodes: config.nodeNames, from: .zero, until: .zero + config.duration, random: &random)
    }

    public static func makeSimulation(
        seed: UInt64, config: GossipConfig, network: NetworkConfig = NetworkConfig(), faults: [FaultEntry]
    ) throws -> Simulation<GossipWorld> {
        try config.validate()
        let specs = config.nodeNames.map { name in
            NodeSpec<GossipWorld>(name) { boot in
                GossipNode(boot: boot, tokens: config.tokensPerNode, tickInterval: config.tickInterval)
            }
        }
        return try Simulation(seed: seed, network: network, nodes: specs, faults: faults)
    }

    public static func header(seed: UInt64, config: GossipConfig, network: NetworkConfig, faults: [FaultEntry])
        -> TraceHeader<GossipConfig>
    {
        TraceHeader(world: worldName, seed: seed, network: network, faults: faults, config: config)
    }

    /// The safety phase for `duration`, then the liveness phase: every node back up.
    public static func drive(_ simulation: Simulation<GossipWorld>, config: GossipConfig) -> LivenessResult {
        simulation.run(until: .zero + config.duration)
        return simulation.healAndAwait(budget: config.livenessBudget) {
            (0..<simulation.nodeCount).allSatisfy { simulation.status(of: NodeID($0)) == .up }
        }
    }

    /// Runs `steps` queue events of a fault-free gossip world. Lives in this module so the
    /// whole event loop is specialised for `GossipWorld`, as it is for any world whose driver
    /// sits in the same module as its `Simulation` use.
    public static func runSteps(_ simulation: Simulation<GossipWorld>, steps: UInt64) {
        simulation.run(stepBudget: steps)
    }

    /// Rebuilds the run a trace describes and compares it event by event.
    public static func replay(_ recorded: RecordedTrace) throws -> ReplayReport {
        guard recorded.world == worldName else {
            throw TraceFileError.worldMismatch(found: recorded.world, expected: worldName)
        }
        let header = try recorded.header(as: GossipConfig.self)
        let simulation: Simulation<GossipWorld>
        do {
            simulation = try makeSimulation(
                seed: header.seedValue!, config: header.config, network: header.network, faults: header.faults)
        } catch let error as SimConfigError {
            throw TraceFileError.configDoesNotParse(reason: error.description)
        }
        return TraceReplay.compare(recorded, simulation: simulation) { _ = drive($0, config: header.config) }
    }
}
