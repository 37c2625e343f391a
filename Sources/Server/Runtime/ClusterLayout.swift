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

    public var regionNames: [Address] { (1...regions).map { "region-\($0)" } }
    public func proxyNames(region: Int) -> [Address] { (1...proxiesPerRegion).map { "proxy-\(region)-\($0)" } }
    public var proxyNames: [Address] { (1...regions).flatMap { proxyNames(region: $0) } }
    /// Every Core role, in start order.
    public var roleNames: [Address] { ["store", "gateway"] + regionNames + proxyNames }

    /// Every role (and the fake LLM) in one process at `url`.
    public static func singleProcess(regions: Int, proxiesPerRegion: Int, url: String) -> ClusterLayout {
        var layout = ClusterLayout(regions: regions, proxiesPerRegion: proxiesPerRegion, urls: [:])
        for role in layout.roleNames + ["fake-llm"] { layout.urls[role] = url }
        return layout
    }

    /// The LLM worker settings every proxy runs with.
    public var workerSettings: LLMWorkerSettings {
        var settings = LLMWorkerSettings(scheduling: scheduling)
        if let workerConcurrency { settings.concurrency = workerConcurrency }
        if let workerQueue { settings.queueCapacity = workerQueue }
        return settings
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
        guard (1...8).contains(regions) else { return "regions must be between 1 and 8, got \(regions)" }
        guard (1...16).contains(proxiesPerRegion) else { return "proxies per region must be between 1 and 16, got \(proxiesPerRegion)" }
        if let workerConcurrency, !(1...64).contains(workerConcurrency) { return "workerConcurrency must be between 1 and 64, got \(workerConcurrency)" }
        if let workerQueue, !(1...100_000).contains(workerQueue) { return "workerQueue must be between 1 and 100000, got \(workerQueue)" }
        if let openTasksMax, !(1...10_000_000).contains(openTasksMax) { return "openTasksMax must be between 1 and 10000000, got \(openTasksMax)" }
        for role in roleNames where urls[role] == nil { return "no URL for role '\(role)'" }
        for (role, url) in urls.sorted(by: { $0.key < $1.key }) {
            guard let parsed = URL(string: url), parsed.scheme == "http", parsed.host != nil, parsed.port != nil else {
                return "role '\(role)': '\(url)' is not an http://host:port URL"
            }
        }
        return nil
    }

    /// The region a proxy belongs to.
    public func region(of proxy: Address) -> Address? {
        for region in 1...regions where proxyNames(region: region).contains(proxy) { return "region-\(region)" }
        return nil
    }
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
