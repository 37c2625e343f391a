import Core
import FakeLLM
import Foundation

/// Where every role of a real cluster lives: the cluster's description (`ClusterSpec`, the one
/// the simulator builds its roles from too) and, for each address, the base URL of the role
/// plane of the process that hosts it. One process may host any subset of the roles; all roles
/// of one process share its role-plane URL. A cluster file is the two side by side, flat:
/// `{"regions", "proxiesPerRegion", "scheduling", ..., "urls": {...}}`; absent knobs take the
/// defaults of `ClusterSpec.serveDefault`.
public struct ClusterLayout: Codable, Hashable, Sendable {
    /// The cluster. Its LLM endpoints `llm-1` ... `llm-N` are the URLs `serve --llm-url` names,
    /// in order (one, the fake LLM, by default); each proxy starts at its own and falls back to
    /// the others.
    public var spec: ClusterSpec
    /// Role address -> role-plane base URL (`http://127.0.0.1:9000`). `fake-llm` is the public
    /// base URL of the process that serves the embedded fake LLM, if any.
    public var urls: [Address: String]

    public init(spec: ClusterSpec, urls: [Address: String]) {
        self.spec = spec
        self.urls = urls
    }

    enum CodingKeys: String, CodingKey {
        case regions, proxiesPerRegion, llmEndpoints, urls, scheduling, balancing, voting, workerConcurrency, workerQueue, openTasksMax, checkpoints, timings
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ClusterSpec.serveDefault
        self.init(
            spec: ClusterSpec(
                regions: try container.decode(Int.self, forKey: .regions), proxiesPerRegion: try container.decode(Int.self, forKey: .proxiesPerRegion),
                llmEndpoints: try container.decodeIfPresent(Int.self, forKey: .llmEndpoints) ?? defaults.llmEndpoints,
                scheduling: try container.decodeIfPresent(SchedulingPolicy.self, forKey: .scheduling) ?? defaults.scheduling,
                balancing: try container.decodeIfPresent(BalancingPolicy.self, forKey: .balancing) ?? defaults.balancing,
                voting: try container.decodeIfPresent(VotingPolicy.self, forKey: .voting) ?? defaults.voting,
                workerConcurrency: try container.decodeIfPresent(Int.self, forKey: .workerConcurrency) ?? defaults.workerConcurrency,
                workerQueue: try container.decodeIfPresent(Int.self, forKey: .workerQueue) ?? defaults.workerQueue,
                openTasksMax: try container.decodeIfPresent(Int.self, forKey: .openTasksMax),
                checkpoints: try container.decodeIfPresent(CheckpointPolicy.self, forKey: .checkpoints) ?? defaults.checkpoints,
                timings: try container.decodeIfPresent(RecoveryTimings.self, forKey: .timings) ?? defaults.timings),
            urls: try container.decode([Address: String].self, forKey: .urls))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(spec.regions, forKey: .regions)
        try container.encode(spec.proxiesPerRegion, forKey: .proxiesPerRegion)
        if spec.llmEndpoints != 1 { try container.encode(spec.llmEndpoints, forKey: .llmEndpoints) }
        try container.encode(urls, forKey: .urls)
        try container.encode(spec.scheduling, forKey: .scheduling)
        try container.encode(spec.balancing, forKey: .balancing)
        try container.encode(spec.voting, forKey: .voting)
        try container.encode(spec.workerConcurrency, forKey: .workerConcurrency)
        try container.encode(spec.workerQueue, forKey: .workerQueue)
        try container.encodeIfPresent(spec.openTasksMax, forKey: .openTasksMax)
        try container.encode(spec.checkpoints, forKey: .checkpoints)
        try container.encode(spec.timings, forKey: .timings)
    }

    public var regionNames: [Address] { spec.regionNames }
    public var proxyNames: [Address] { spec.proxyNames }
    /// Every Core role, in start order.
    public var roleNames: [Address] { spec.roleNames }

    /// Every role (and the fake LLM) in one process at `url`.
    public static func singleProcess(_ spec: ClusterSpec, url: String) -> ClusterLayout {
        ClusterLayout(spec: spec, urls: Dictionary(uniqueKeysWithValues: (spec.roleNames + [.fakeLLM]).map { ($0, url) }))
    }

    /// The role-plane port of the process hosting `roles` (their shared URL's port).
    public func rolePlanePort(for roles: [Address]) -> Int? {
        let core = roles.filter { $0 != .fakeLLM }
        let bases = Set(core.compactMap { urls[$0] })
        guard bases.count == 1, let base = bases.first else { return nil }
        return URL(string: base)?.port
    }

    /// Why the layout cannot run, in one line.
    public func problem() -> String? {
        if let problem = spec.problem() { return problem }
        for role in roleNames where urls[role] == nil { return "no URL for role '\(role)'" }
        for (role, url) in urls.sorted(by: { $0.key < $1.key }) {
            guard let parsed = URL(string: url), parsed.scheme == "http", parsed.host != nil, parsed.port != nil else {
                return "role '\(role)': '\(url)' is not an http://host:port URL"
            }
        }
        return nil
    }

    /// The region a proxy belongs to.
    public func region(of proxy: Address) -> Address? { spec.region(of: proxy) }
}

extension Address {
    /// Not a role of the core: the process that serves the embedded fake LLM, in a cluster
    /// file's `urls` and a process's `--roles`.
    public static let fakeLLM: Address = "fake-llm"

    /// The addresses of a comma-separated list (`--roles store,gateway`), blanks dropped.
    public static func list(_ text: String) -> [Address] {
        text.split(separator: ",").map { Address($0.trimmingCharacters(in: .whitespaces)) }.filter { !$0.name.isEmpty }
    }
}

/// One message handed to a role in this process: Core's own message, plus the sender.
public struct Envelope: Codable, Sendable {
    public var from: Address
    public var message: CoreMessage
    /// The message's id in the run's traffic history, for traced messages (`TrafficRecorder`).
    public var trace: UInt64?

    public init(from: Address, message: CoreMessage, trace: UInt64? = nil) {
        self.from = from
        self.message = message
        self.trace = trace
    }
}
