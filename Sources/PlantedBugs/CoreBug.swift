// The planted bugs of `agentos bench find` and of the tests: small, plausible mistakes in the
// core's roles, each a wrapper around (or a setting of) a correct role. The shipped roles hold
// none of them: a bug is in a run only when a `RoleOverrides` built here is handed to it
// (hidden `--plant NAME` on `run`, `explore` and `bench find`'s children).
import Core
import SQLiteStore
import Scenarios

/// One planted bug, by its kebab-case name.
public enum CoreBug: String, CaseIterable, Sendable, Codable {
    // The store.
    case staleAcceptingStore = "stale-accepting-store"
    case regionalFirstStore = "regional-first-store"
    case equalClaimStore = "equal-claim-store"
    case globalOnlyFinishStore = "global-only-finish-store"
    case unsyncedStore = "unsynced-store"
    // The gateway.
    case forgetfulGateway = "forgetful-gateway"
    case failoverAbortingGateway = "failover-aborting-gateway"
    case cachingStatusGateway = "caching-status-gateway"
    case attemptKeyedGateway = "attempt-keyed-gateway"
    case clientBlindKeyGateway = "client-blind-key-gateway"
    case eagerRestartGateway = "eager-restart-gateway"
    case slowFailoverGateway = "slow-failover-gateway"
    case shortAdmissionGateway = "short-admission-gateway"
    // The region.
    case epochReusingHandoverRegion = "epoch-reusing-handover-region"
    // The proxy: its owner and its worker.
    case rejectionIgnoringOwner = "rejection-ignoring-owner"
    case progressIgnoringOwner = "progress-ignoring-owner"
    case hastyOwner = "hasty-owner"
    case parentDroppingOwner = "parent-dropping-owner"
    case conflictIgnoringOwner = "conflict-ignoring-owner"
    case backstopKeepingOwner = "backstop-keeping-owner"
    case failureDroppingWorker = "failure-dropping-worker"
    case staleErrorWorker = "stale-error-worker"

    public var name: String { rawValue }

    public init?(name: String) { self.init(rawValue: name) }

    /// What the mistake is, in a line.
    public var summary: String {
        switch self {
        case .staleAcceptingStore: "applies a progress write of a stale epoch when the node has no row yet"
        case .regionalFirstStore: "compares epochs regional part first, so failover claims are refused"
        case .equalClaimStore: "lets a claim at an equal epoch win (not older, instead of strictly newer)"
        case .globalOnlyFinishStore: "fences an owner's finish on the global epoch alone"
        case .unsyncedStore: "opens its file with synchronous=OFF: a power loss drops acknowledged writes"
        case .forgetfulGateway: "answers status from memory, so a restart forgets every earlier task"
        case .failoverAbortingGateway: "aborts a task once it needed a failover (a placement limit of one)"
        case .cachingStatusGateway: "caches the first `running` status it read and never invalidates it"
        case .attemptKeyedGateway: "keys new tasks by submit attempt, so a client's retry makes a second task"
        case .clientBlindKeyGateway: "leaves the client out of its keys, so two clients' requests collide"
        case .eagerRestartGateway: "admits after a restart before its first sweep counted the open tasks"
        case .slowFailoverGateway: "waits a minute before it fails over a silent region (a unit mistake)"
        case .shortAdmissionGateway: "refuses submits one short of its open-task limit"
        case .epochReusingHandoverRegion: "reuses the task's epoch when it hands a task to another proxy"
        case .rejectionIgnoringOwner: "takes a store's stale-epoch refusal for success"
        case .progressIgnoringOwner: "ignores the progress it loads and computes every node again"
        case .hastyOwner: "gives up on a round after one malformed winner (no round retries)"
        case .parentDroppingOwner: "leaves the last parent's result out of a node's prompt"
        case .conflictIgnoringOwner: "takes a same-epoch save conflict for success and keeps its own result"
        case .backstopKeepingOwner: "does not restart a call's backstop when the worker says it holds the call"
        case .failureDroppingWorker: "forgets a call whose attempt failed instead of retrying it"
        case .staleErrorWorker: "reports a call's earlier error when its retry succeeds"
        }
    }

    /// The role the mistake is in.
    public var role: String {
        switch self {
        case .staleAcceptingStore, .regionalFirstStore, .equalClaimStore, .globalOnlyFinishStore, .unsyncedStore: "store"
        case .forgetfulGateway, .failoverAbortingGateway, .cachingStatusGateway, .attemptKeyedGateway, .clientBlindKeyGateway,
            .eagerRestartGateway, .slowFailoverGateway, .shortAdmissionGateway:
            "gateway"
        case .epochReusingHandoverRegion: "region"
        default: "proxy"
        }
    }

    /// The run's roles with this bug in place.
    public var overrides: RoleOverrides {
        switch self {
        case .staleAcceptingStore: RoleOverrides(store: { StaleAcceptingStore(inner: StoreNode(store: $0)) })
        case .regionalFirstStore: RoleOverrides(store: { RegionalFirstStore(inner: StoreNode(store: $0)) })
        case .equalClaimStore: RoleOverrides(store: { EqualClaimStore(inner: StoreNode(store: $0)) })
        case .globalOnlyFinishStore: RoleOverrides(store: { GlobalOnlyFinishStore(inner: StoreNode(store: $0)) })
        case .unsyncedStore:
            {
                var overrides = RoleOverrides()
                overrides.storeFile = StoreFileSettings(journalMode: .wal, synchronous: .off)
                return overrides
            }()
        case .forgetfulGateway: RoleOverrides(gateway: { ForgetfulGateway(inner: Gateway(settings: $0, incarnation: $1)) })
        case .failoverAbortingGateway: RoleOverrides(gateway: { FailoverAbortingGateway(inner: Gateway(settings: $0, incarnation: $1)) })
        case .cachingStatusGateway: RoleOverrides(gateway: { CachingStatusGateway(inner: Gateway(settings: $0, incarnation: $1)) })
        case .attemptKeyedGateway: RoleOverrides(gateway: { AttemptKeyedGateway(inner: Gateway(settings: $0, incarnation: $1)) })
        case .clientBlindKeyGateway: RoleOverrides(gateway: { ClientBlindKeyGateway(inner: Gateway(settings: $0, incarnation: $1)) })
        case .eagerRestartGateway: RoleOverrides(gateway: { EagerRestartGateway(inner: Gateway(settings: $0, incarnation: $1)) })
        case .slowFailoverGateway: RoleOverrides(gateway: PlantedBugs.slowFailoverGateway)
        case .shortAdmissionGateway:
            RoleOverrides(gateway: { settings, incarnation in
                var short = settings
                short.openTasksMax = max(1, settings.openTasksMax - 1)
                return Gateway(settings: short, incarnation: incarnation)
            })
        case .epochReusingHandoverRegion:
            RoleOverrides(region: { EpochReusingHandoverRegion(inner: RegionalCoordinator(settings: $0, incarnation: $1)) })
        case .rejectionIgnoringOwner: RoleOverrides(proxy: { RejectionIgnoringProxy(inner: AgentProxy(settings: $0, incarnation: $1)) })
        case .progressIgnoringOwner: RoleOverrides(proxy: { ProgressIgnoringProxy(inner: AgentProxy(settings: $0, incarnation: $1)) })
        case .hastyOwner:
            RoleOverrides(proxy: { settings, incarnation in
                var hasty = settings
                hasty.roundRetries = 0
                return AgentProxy(settings: hasty, incarnation: incarnation)
            })
        case .parentDroppingOwner: RoleOverrides(proxy: { ParentDroppingProxy(inner: AgentProxy(settings: $0, incarnation: $1)) })
        case .conflictIgnoringOwner: RoleOverrides(proxy: { ConflictIgnoringProxy(inner: AgentProxy(settings: $0, incarnation: $1)) })
        case .backstopKeepingOwner: RoleOverrides(proxy: { BackstopKeepingOwner(inner: AgentProxy(settings: $0, incarnation: $1)) })
        case .failureDroppingWorker: RoleOverrides(proxy: { FailureDroppingWorker(inner: AgentProxy(settings: $0, incarnation: $1)) })
        case .staleErrorWorker: RoleOverrides(proxy: { StaleErrorWorker(inner: AgentProxy(settings: $0, incarnation: $1)) })
        }
    }

    /// The bug named `name`, or an error that lists the names.
    public static func named(_ name: String) throws -> CoreBug {
        guard let bug = CoreBug(name: name) else {
            throw PlantedBugError.unknown(name)
        }
        return bug
    }
}

public enum PlantedBugError: Error, CustomStringConvertible {
    case unknown(String)

    public var description: String {
        switch self {
        case .unknown(let name): "no planted bug named '\(name)'; the bugs: \(CoreBug.allCases.map(\.name).joined(separator: ", "))"
        }
    }
}

extension CoreBug {
    /// The bug as the real shell's role factory (hidden `serve --plant`), so a real run and its
    /// replay in the simulator (`replay-real`) run the same mistaken code. Nil for a bug of the
    /// simulated disk's settings, which a real process does not have. A store bug acts on the
    /// SQLite store only (the PostgreSQL store is its own code).
    public var shellFactory: RoleFactory? {
        guard self != .unsyncedStore else { return nil }
        let overrides = self.overrides
        var factory = RoleFactory.standard
        if let store = overrides.store {
            factory.store = { backend in (backend as? TaskStore).map(store) ?? StoreNode(store: backend) }
        }
        if let gateway = overrides.gateway { factory.gateway = gateway }
        if let region = overrides.region { factory.region = region }
        if let proxy = overrides.proxy { factory.proxy = proxy }
        return factory
    }
}
