import Core
import Foundation
import SQLiteStore

// CoreTesting: the core's roles driven together in one process, with no network, no threads
// and no real clock, for unit-testing roles (ours or yours) the way swift-nio's embedded event
// loop tests channel handlers. Deterministic: zero-latency FIFO delivery, virtual time, seeded
// randomness, a real SQLite store (in memory) and a scripted LLM.

/// A scripted LLM: answers by the protocol, optionally misbehaving per call.
public struct ScriptedLLM {
    public enum Answer {
        case text(String)
        case error(Int)
        case silence
    }

    public var calls: [LLMRequest] = []
    /// Decides the answer to the n-th call (0-based); nil means a well-formed answer.
    public var script: (Int, LLMRequest) -> Answer? = { _, _ in nil }
    public var latency: Interval = .milliseconds(100)

    public init() {}

    public mutating func answer(_ request: LLMRequest) -> Answer {
        let number = calls.count
        calls.append(request)
        if let scripted = script(number, request) { return scripted }
        return .text(Self.wellFormed(request, variant: number))
    }

    public static func wellFormed(_ request: LLMRequest, variant: Int) -> String {
        if request.prompt.contains("Choice 1:") { return "I pick one. The best choice is 1" }
        let digest = FNV64.hex(FNV64.hash(request.prompt))
        let text = "PLAN: plan-\(variant) for \(digest)\nOUTPUT: answer-\(variant) for \(digest)"
        if let stop = request.stop.first, let cut = text.range(of: stop) { return String(text[..<cut.lowerBound]) }
        return text
    }
}

/// A tiny deterministic cluster for driving the roles together: zero-latency FIFO delivery,
/// timers, crashes, restarts and cut links, a real SQLite store node, and a scripted LLM.
/// Messages to a client role (`client-N`) land in `clientInbox`; messages to an LLM role
/// (`llm-N`) go to `llm`.
public final class EmbeddedCluster {
    public var now: Instant = .zero
    /// Each live role's runtime: the same interpreter the simulator and the real shell use.
    public var runtimes: [Address: RoleRuntime] = [:]
    public var machines: [Address: any CoreMachine] { runtimes.mapValues(\.machine) }
    var factories: [Address: (UInt32) -> any CoreMachine] = [:]
    public var incarnations: [Address: UInt32] = [:]
    public var messages: [(from: Address, to: Address, message: CoreMessage, at: Instant)] = []
    var timers: [(at: Instant, seq: Int, address: Address, incarnation: UInt32, timer: CoreTimer, generation: UInt64)] = []
    var seq = 0
    public var down: Set<Address> = []
    var cut: Set<String> = []
    public var observations: [(Address, CoreObservation)] = []
    public var clientInbox: [(Address, CoreMessage)] = []
    public var llm = ScriptedLLM()
    /// Drops the next message this matches, as a lossy network would.
    public var dropNext: ((CoreMessage) -> Bool)?
    public var random = SeededSource(seed: 42)
    public let store: TaskStore

    public init() throws {
        store = try TaskStore()
    }

    /// The standard topology: a store, a gateway, `regions` regions with `proxies` proxies each,
    /// every role's settings from the same `ClusterSpec` both shells use, then adjusted.
    public static func standard(
        regions: Int = 2, proxies: Int = 2, proxySettings: (inout ProxySettings) -> Void = { _ in },
        gatewaySettings: (inout GatewaySettings) -> Void = { _ in }
    ) throws -> EmbeddedCluster {
        try standard(ClusterSpec(regions: regions, proxiesPerRegion: proxies), proxySettings: proxySettings, gatewaySettings: gatewaySettings)
    }

    /// The cluster a description gives, every role's settings adjustable before it starts.
    public static func standard(
        _ spec: ClusterSpec, proxySettings: (inout ProxySettings) -> Void = { _ in }, gatewaySettings: (inout GatewaySettings) -> Void = { _ in }
    ) throws -> EmbeddedCluster {
        let cluster = try EmbeddedCluster()
        let store = cluster.store
        var gateway = spec.gatewaySettings
        gatewaySettings(&gateway)
        var proxies: [Address: ProxySettings] = [:]
        for proxy in spec.proxyNames {
            proxies[proxy] = spec.proxySettings(proxy)!
            proxySettings(&proxies[proxy]!)
        }
        let factory = RoleFactory(
            gateway: { [gateway] _, incarnation in Gateway(settings: gateway, incarnation: incarnation) },
            proxy: { [proxies] settings, incarnation in AgentProxy(settings: proxies[settings.proxy]!, incarnation: incarnation) })
        for role in spec.roleNames {
            cluster.add(role) { incarnation in spec.machine(for: role, incarnation: incarnation, factory: factory) { store }! }
        }
        return cluster
    }

    public func add(_ address: Address, _ factory: @escaping (UInt32) -> any CoreMachine) {
        factories[address] = factory
        start(address)
    }

    public func start(_ address: Address) {
        let incarnation = (incarnations[address] ?? 0) + 1
        incarnations[address] = incarnation
        runtimes[address] = RoleRuntime(machine: factories[address]!(incarnation), address: address, incarnation: incarnation)
        down.remove(address)
        deliver(.start, to: address)
    }

    public func crash(_ address: Address) {
        down.insert(address)
        runtimes[address] = nil
        messages.removeAll { $0.to == address }
    }

    public func restart(_ address: Address) {
        crash(address)
        start(address)
    }

    public func cutLink(_ a: Address, _ b: Address) {
        cut.insert("\(a)>\(b)")
        cut.insert("\(b)>\(a)")
    }

    public func heal() { cut.removeAll() }

    public func send(_ message: CoreMessage, from: Address, to: Address) {
        messages.append((from, to, message, now))
    }

    public func deliver(_ input: CoreInput, to address: Address) {
        guard var runtime = runtimes[address] else { return }
        var actions: [RoleRuntime.Action] = []
        runtime.handle(input, now: now, random: &random) { actions.append($0) }
        runtimes[address] = runtime
        for action in actions {
            switch action {
            case .deliver(let to, let message):
                if let drop = dropNext, drop(message) {
                    dropNext = nil
                } else if case .llm? = Role(to) {
                    handleLLM(message, from: address)
                } else if !cut.contains("\(address)>\(to)") {
                    messages.append((address, to, message, now))
                }
            case .arm(let timer, let delay, let generation):
                seq += 1
                timers.append((now + delay, seq, address, incarnations[address]!, timer, generation))
            case .disarm:
                break
            case .observe(let observation):
                observations.append((address, observation))
            }
        }
    }

    public func handleLLM(_ message: CoreMessage, from: Address) {
        guard case .llmRequest(let request) = message else { return }
        let at = now + llm.latency
        switch llm.answer(request) {
        case .text(let text): messages.append(("llm", from, .llmReply(LLMReply(id: request.id, result: .text(text))), at))
        case .error(let status):
            messages.append(("llm", from, .llmReply(LLMReply(id: request.id, result: .error(status: status, message: "scripted", retryAfter: nil))), at))
        case .silence: break
        }
    }

    /// Runs until `deadline`: messages due now first (in order), then the next timer.
    public func run(for duration: Interval) {
        let deadline = now + duration
        while true {
            if let index = messages.indices.filter({ messages[$0].at <= now }).first {
                let (from, to, message, _) = messages.remove(at: index)
                if case .client? = Role(to) {
                    clientInbox.append((to, message))
                } else if !down.contains(to) {
                    deliver(.message(from: from, message), to: to)
                }
                continue
            }
            let nextMessage = messages.map(\.at).min()
            let nextTimer = timers.map(\.at).min()
            guard let next = [nextMessage, nextTimer].compactMap({ $0 }).min(), next <= deadline else {
                now = deadline
                return
            }
            now = max(now, next)
            if nextMessage == next { continue }
            let index = timers.indices.min { (timers[$0].at, timers[$0].seq) < (timers[$1].at, timers[$1].seq) }!
            let timer = timers.remove(at: index)
            guard !down.contains(timer.address), incarnations[timer.address] == timer.incarnation,
                runtimes[timer.address]?.fires(timer.timer, generation: timer.generation) == true
            else { continue }
            deliver(.timer(timer.timer), to: timer.address)
        }
    }

    // MARK: Client helpers

    public var nextRequestID: UInt64 = 0

    public func submit(_ query: Query, client: Address = .client(1)) -> UInt64 {
        nextRequestID += 1
        send(.submit(requestID: nextRequestID, query: query), from: client, to: .gateway)
        return nextRequestID
    }

    public func taskID(for requestID: UInt64) -> TaskID? {
        for (_, message) in clientInbox {
            if case .submitted(requestID, let taskID) = message { return taskID }
        }
        return nil
    }

    public func rejection(for requestID: UInt64) -> String? {
        for (_, message) in clientInbox {
            if case .submitRejected(requestID, let reason) = message { return reason }
        }
        return nil
    }

    public func status(_ taskID: TaskID) -> TaskStatusView {
        nextRequestID += 1
        let id = nextRequestID
        send(.statusQuery(requestID: id, taskID: taskID), from: .client(1), to: .gateway)
        run(for: .milliseconds(10))
        for (_, message) in clientInbox.reversed() {
            if case .statusReply(id, let status) = message { return status }
        }
        return .nonExist
    }

    public func writes(_ filter: (WriteKind) -> Bool = { _ in true }) -> [(TaskID, WriteKind, Epoch, WriteOutcome)] {
        observations.compactMap {
            if case .write(let task, let kind, let epoch, _, let outcome) = $0.1, filter(kind) { (task, kind, epoch, outcome) } else { nil }
        }
    }

    public var nodeStarts: [(TaskID, String, Epoch)] {
        observations.compactMap { if case .nodeStarted(let t, let n, let e, _, _) = $0.1 { (t, n, e) } else { nil } }
    }
}

/// A query with the reference's task name and a fixed description.
public func query(_ rounds: Int = 2, _ samples: Int = 3, _ voters: Int = 3, graph: TaskGraph? = nil, name: String = "code_generation") -> Query {
    Query(taskName: name, taskDescription: "Write a function that adds two numbers.", nRounds: rounds, nSamples: samples, nVoters: voters, graph: graph)
}
