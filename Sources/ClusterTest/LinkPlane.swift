import Foundation
import NIOCore
import NIOPosix

/// One ordered link between two processes of the cluster: the traffic `from` starts towards
/// `to`'s service port (the role plane, or the fake LLM's API).
public struct Link: Hashable, Sendable, CustomStringConvertible {
    public let from: String
    public let to: String

    public init(_ from: String, _ to: String) {
        self.from = from
        self.to = to
    }

    public var description: String { "\(from)->\(to)" }

    /// The links that carry traffic in the cluster under test: the coordinators in `a` and the
    /// proxies in `b` and `c` talk both ways; the proxies call the fake LLM. (Every other pair
    /// exchanges nothing, so a fault on it would be a fault on nothing.)
    public static let talking: [Link] = [
        Link("a", "b"), Link("b", "a"), Link("a", "c"), Link("c", "a"),
        Link("b", "llm"), Link("llm", "b"), Link("c", "llm"), Link("llm", "c"),
    ]
}

/// What the network nemeses do to the links at one moment; the empty value is a healthy network.
public struct LinkFaults: Equatable, Sendable {
    /// Links whose sender's packets never reach the receiver (the receiver's still reach the
    /// sender: a one-way cut when only one direction of a pair is here).
    public var muted: Set<Link> = []
    /// Links whose sender's packets are dropped with this probability, in percent.
    public var lossPercent: [Link: Int] = [:]
    /// Links whose bytes the proxy holds for a while, in each direction of the connections
    /// `from` opens and of those `to` opens.
    public var delay: [Link: LinkDelay] = [:]

    public init() {}

    public static let healthy = LinkFaults()
}

/// A latency with jitter: each chunk waits `base ± jitter` milliseconds (never less than 0),
/// and never overtakes an earlier chunk of its connection.
public struct LinkDelay: Equatable, Sendable, CustomStringConvertible {
    public var baseMillis: Int
    public var jitterMillis: Int

    public var description: String { "\(baseMillis)±\(jitterMillis) ms" }
}

/// The links of a namespaced cluster, each passing through the hub, where the network nemeses
/// act on it.
///
/// Every ordered pair of processes gets an address of its own on the hub's bridge
/// (`10.77.0.100+i`). Inside each process's namespace, a DNAT rule sends the connections it
/// opens to another process's service port to that pair's hub address instead; a proxy in the
/// test driver (which runs in the hub) listens there and relays to the real destination,
/// connecting from the same address. So every packet of the pair, whichever side opened the
/// connection, arrives at the hub with a known source and a known link address: one nftables
/// rule on the hub's input drops or thins a direction of a pair (loss, one-way cuts, splits,
/// flapping), and the proxy holds bytes for the delays. TLS passes through untouched: the client
/// still dials the destination's own address, and the kernel rewrites it underneath.
///
/// Needs `nft` (nftables) next to `ip`; without it the cluster runs on direct links and only
/// the process faults and whole-port partitions are available.
public final class LinkPlane: @unchecked Sendable {
    let network: ClusterNetwork
    let links: [Link]
    let delays: LinkDelays
    private var proxies: [Channel] = []
    /// Serializes rule changes (flapping changes them from its own task).
    private let lock = NSLock()
    private var current = LinkFaults.healthy
    private var droppedTotal = 0
    static let table = "aosct_faults"

    public static var nftTool: String? {
        ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Every ordered pair of distinct processes (the DNAT rules cover all of them, so a link
    /// that starts talking later is still on the plane).
    static var allLinks: [Link] {
        ClusterNetwork.processes.flatMap { from in ClusterNetwork.processes.filter { $0 != from }.map { Link(from, $0) } }
    }

    /// The port a process serves its peers on: the role plane, or the fake LLM's API.
    static func servicePort(of process: String) -> Int { process == "llm" ? 8000 : 8001 }

    func address(of link: Link) -> String {
        "\(ClusterNetwork.subnet).\(100 + links.firstIndex(of: link)!)"
    }

    /// Adds the link addresses and the DNAT rules, starts the proxies. Called from inside the
    /// hub namespace, before the processes start.
    public init(network: ClusterNetwork, seed: UInt64) throws {
        guard let prefix = network.prefix else { throw ClusterTestError("the link plane needs network namespaces") }
        guard Self.nftTool != nil else { throw ClusterTestError("nftables' `nft` is not installed") }
        self.network = network
        links = Self.allLinks
        delays = LinkDelays(links: links, seed: seed)
        for link in links { try ClusterNetwork.ip(["addr", "add", "\(address(of: link))/32", "dev", "br0"]) }
        for process in ClusterNetwork.processes {
            let rules = links.filter { $0.from == process }.map { link in
                "ip daddr \(network.host(of: link.to)) tcp dport \(Self.servicePort(of: link.to)) dnat to \(address(of: link))"
            }
            try Self.nft(
                """
                table ip aosct_links {
                  chain output {
                    type nat hook output priority -100; policy accept;
                    \(rules.joined(separator: "\n    "))
                  }
                }
                """, namespace: "\(prefix)-\(process)")
        }
        try apply(.healthy)
        do {
            for (index, link) in links.enumerated() {
                let port = Self.servicePort(of: link.to)
                let listen = try SocketAddress(ipAddress: address(of: link), port: port)
                let upstream = try SocketAddress(ipAddress: network.host(of: link.to), port: port)
                let source = try SocketAddress(ipAddress: address(of: link), port: 0)
                proxies.append(try LinkProxy.listen(on: listen, relayingTo: upstream, from: source, link: index, delays: delays).wait())
            }
        } catch {
            stop()
            throw error
        }
    }

    /// Replaces the faults in force with `faults`, in one nftables transaction.
    public func apply(_ faults: LinkFaults) throws {
        lock.lock()
        defer { lock.unlock() }
        // The rules about to be replaced count what they dropped: keep the count.
        if current != .healthy { droppedTotal += try Self.droppedPackets() }
        var rules: [String] = []
        for link in links where faults.muted.contains(link) {
            rules.append("ip saddr \(network.host(of: link.from)) ip daddr { \(address(of: link)), \(address(of: Link(link.to, link.from))) } counter drop")
        }
        for link in links {
            guard let percent = faults.lossPercent[link], percent > 0, !faults.muted.contains(link) else { continue }
            rules.append(
                "ip saddr \(network.host(of: link.from)) ip daddr { \(address(of: link)), \(address(of: Link(link.to, link.from))) } numgen random mod 100 < \(percent) counter drop")
        }
        // Declaring the table first makes the delete valid when it does not exist yet.
        try Self.nft(
            """
            table ip \(Self.table)
            delete table ip \(Self.table)
            table ip \(Self.table) {
              chain input {
                type filter hook input priority 0; policy accept;
                \(rules.joined(separator: "\n    "))
              }
            }
            """, namespace: nil)
        delays.set(faults.delay, links: links)
        current = faults
    }

    /// The faults in force.
    public var faults: LinkFaults {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Packets the link faults have dropped since the plane started, and chunks the proxies
    /// have delayed: what a fault did, printed after it heals.
    public var effect: (dropped: Int, delayed: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (droppedTotal + ((try? Self.droppedPackets()) ?? 0), delays.delayedChunks)
    }

    /// The packets the rules in force have dropped (their counters).
    static func droppedPackets() throws -> Int {
        guard let nft = nftTool else { return 0 }
        let listing = try ClusterNetwork.run(nft, ["list", "table", "ip", table])
        var total = 0
        var words = listing.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })[...]
        while let word = words.popFirst() {
            if word == "packets", let count = words.first.flatMap({ Int($0) }) { total += count }
        }
        return total
    }

    /// Closes the proxies (the rules go with the namespaces).
    public func stop() {
        for channel in proxies { try? channel.close().wait() }
        proxies = []
    }

    /// Runs `nft -f` on `script`, in `namespace` (nil: this process's own).
    static func nft(_ script: String, namespace: String?) throws {
        guard let nft = nftTool else { throw ClusterTestError("nftables' `nft` is not installed") }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("aosct-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).nft")
        try script.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        if let namespace {
            try ClusterNetwork.ip(["netns", "exec", namespace, nft, "-f", file.path])
        } else {
            try ClusterNetwork.run(nft, ["-f", file.path])
        }
    }
}
