/// How each role's state machine is made from the settings `ClusterSpec` derives for it. The
/// one factory every shell calls, through `ClusterSpec.machine(for:incarnation:factory:store:)`:
/// the simulator (where a test may put a planted bug in place of a correct role), `serve`, and
/// `CoreTesting`'s `EmbeddedCluster`.
public struct RoleFactory {
    public var store: (any TaskStoreBackend) -> any CoreMachine
    public var gateway: (GatewaySettings, UInt32) -> any CoreMachine
    public var region: (RegionSettings, UInt32) -> any CoreMachine
    public var proxy: (ProxySettings, UInt32) -> any CoreMachine

    public init(
        store: @escaping (any TaskStoreBackend) -> any CoreMachine = { StoreNode(store: $0) },
        gateway: @escaping (GatewaySettings, UInt32) -> any CoreMachine = { Gateway(settings: $0, incarnation: $1) },
        region: @escaping (RegionSettings, UInt32) -> any CoreMachine = { RegionalCoordinator(settings: $0, incarnation: $1) },
        proxy: @escaping (ProxySettings, UInt32) -> any CoreMachine = { AgentProxy(settings: $0, incarnation: $1) }
    ) {
        self.store = store
        self.gateway = gateway
        self.region = region
        self.proxy = proxy
    }

    /// The correct roles.
    public static var standard: RoleFactory { RoleFactory() }
}

extension ClusterSpec {
    /// The state machine of a role of this cluster, made by `factory` from the role's settings
    /// (the store's from the backend `store` opens); nil for an address that is not a role of
    /// this cluster.
    public func machine(
        for role: Address, incarnation: UInt32, factory: RoleFactory = .standard, store: () throws -> any TaskStoreBackend
    ) rethrows -> (any CoreMachine)? {
        switch role {
        case .store: return factory.store(try store())
        case .gateway: return factory.gateway(gatewaySettings, incarnation)
        case let region where regionNames.contains(region): return factory.region(regionSettings(region), incarnation)
        default: return proxySettings(role).map { factory.proxy($0, incarnation) }
        }
    }
}
