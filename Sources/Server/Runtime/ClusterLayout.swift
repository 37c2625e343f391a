import Core
import FakeLLM
import Foundation

/// Where every role of a real cluster lives: each address maps to the base URL of the role
/// plane of the process that hosts it. One process may host any subset of the roles; all roles
/// of one process share its role-plane URL.
public struct ClusterLayout: Codable, Hashable, Sendable {
    public var regions: Int
    public var proxiesPerRegion: Int
    /// Role address -> role-plane base URL (`http://127.0.0.1:9000`). `fake-llm` is the public
    /// base URL of the process that serves the embedded fake LLM, if any.
    public var urls: [String: String]
    public var scheduling: SchedulingPolicy
    public var balancing: BalancingPolicy
    public var voting: VotingPolicy
    /// The same knobs as a scenario's topology (nil: the roles' defaults), so a scenario and a
    /// real cluster can be given the same shape.
    public var workerConcurrency: Int?
    public var workerQueue: Int?
    public var openTasksMax: Int?

    public init(
        regions: Int, proxiesPerRegion: Int, urls: [String: String], scheduling: SchedulingPolicy = .fifo,
        balancing: BalancingPolicy = .leastLoaded, voting: VotingPolicy = .naive
    ) {
        self.regions = regions
        self.proxiesPerRegion = proxiesPerRegion
        self.urls = urls
        self.scheduling = scheduling
        self.balancing = balancing
        self.voting = voting
    }

    /// The cluster this layout runs: the description the simulator builds its roles from too.
    /// One LLM endpoint (`llm-1`), the URL the proxies call.
    public var spec: ClusterSpec {
        let defaults = ClusterSpec.serveDefault
        return ClusterSpec(
            regions: regions, proxiesPerRegion: proxiesPerRegion, llmEndpoints: 1, scheduling: scheduling, balancing: balancing, voting: voting,
            workerConcurrency: workerConcurrency ?? defaults.workerConcurrency, workerQueue: workerQueue ?? defaults.workerQueue,
            openTasksMax: openTasksMax)
    }

    /// The layout of a cluster description, every role at `url` (policies and knobs from `spec`).
    public init(spec: ClusterSpec, urls: [String: String]) {
        self.init(regions: spec.regions, proxiesPerRegion: spec.proxiesPerRegion, urls: urls, scheduling: spec.scheduling, balancing: spec.balancing, voting: spec.voting)
        workerConcurrency = spec.workerConcurrency
        workerQueue = spec.workerQueue
        openTasksMax = spec.openTasksMax
    }

    public var regionNames: [Address] { spec.regionNames }
    public var proxyNames: [Address] { spec.proxyNames }
    /// Every Core role, in start order.
    public var roleNames: [Address] { spec.roleNames }

    /// Every role (and the fake LLM) in one process at `url`.
    public static func singleProcess(regions: Int, proxiesPerRegion: Int, url: String) -> ClusterLayout {
        var layout = ClusterLayout(regions: regions, proxiesPerRegion: proxiesPerRegion, urls: [:])
        for role in layout.roleNames + ["fake-llm"] { layout.urls[role] = url }
        return layout
    }

    /// The role-plane port of the process hosting `roles` (their shared URL's port).
    public func rolePlanePort(for roles: [Address]) -> Int? {
        let core = roles.filter { $0 != "fake-llm" }
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

/// One message handed to a role in this process: Core's own message, plus the sender.
public struct Envelope: Codable, Sendable {
    public var from: Address
    public var message: CoreMessage

    public init(from: Address, message: CoreMessage) {
        self.from = from
        self.message = message
    }
}
