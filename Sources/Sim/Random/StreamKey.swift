/// Every random stream a run draws from, in one list, so two components can never share a
/// stream by accident and a new one cannot shift an old one. Each key's text is what the seed
/// is mixed with (`SimRandom(seed:stream:)`); the texts are the ones traces have always been
/// drawn with, so no recorded seed changes.
public enum StreamKey: Hashable, Sendable {
    /// The simulated network: latency, loss, duplication.
    case network
    /// A scenario's fault timeline, drawn from its fault mix.
    case faults
    /// The reference's rolling fault injector (`faults.rolling`).
    case rollingFaults
    /// One life of one node: every draw the node's process makes.
    case node(String, incarnation: UInt32)
    /// The swarm's draw of a scenario from the seed.
    case swarm
    /// Which unsynced writes the store's disk keeps at its n-th power loss.
    case diskPowerLoss(UInt64)
    /// The real-process cluster test's clients and fault schedule.
    case clusterTest
    /// The real-process cluster test's per-chunk jitter on delayed links.
    case clusterTestLinks

    /// The text the seed is mixed with.
    public var text: String {
        switch self {
        case .network: "net"
        case .faults: "faults"
        case .rollingFaults: "faults/rolling"
        case .node(let name, let incarnation): "node/\(name)/\(incarnation)"
        case .swarm: "swarm"
        case .diskPowerLoss(let count): "disk/power-loss/\(count)"
        case .clusterTest: "cluster-test"
        case .clusterTestLinks: "cluster-test/links"
        }
    }
}

extension SimRandom {
    /// The stream `key` of the run with `seed`.
    public init(seed: UInt64, stream key: StreamKey) {
        self.init(seed: seed, key: key.text)
    }
}
