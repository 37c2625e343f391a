import Core
import Foundation
import Server

/// The four processes of the cluster under test, and the faults that can hit them.
public final class ClusterUnderTest {
    /// `a` hosts the store, the gateway and the regions; `b` and `c` two proxies each; `llm` the fake LLM.
    public enum Fault: CustomStringConvertible, Equatable, Sendable {
        case kill(String)
        case pause(String)
        /// The process's only network link cut, both ways (network namespaces only).
        case partition(String)
        /// SIGKILL of every process at once, then a cold restart of the whole cluster (the LLM
        /// first, then the store's process, then the proxies'): nothing survives but the disk.
        case killAll
        /// SIGSTOP of the store's process for longer than every timeout in the cluster.
        case stallStore
        /// Each role process's clock jumps (forward or back) and runs fast or slow, through the
        /// shell's own clock (`ClockSkew`), within what the cluster is built to survive.
        case clockSkew
        /// The store's data directory (a small filesystem of its own) filled to the last byte,
        /// then freed (SQLite store only; needs root to mount it).
        case diskFull
        // The network nemeses (namespaces and nftables: `LinkPlane`); each draws its details
        // from the run's seed when it strikes (`FaultStep`).
        /// Latency with jitter on every talking link, each link its own.
        case delay
        /// Packet loss on every talking link, each link its own rate.
        case loss
        /// One direction of one talking pair cut: A hears B, B does not hear A.
        case oneWay
        /// One process cut off from the other three (the clients still reach every process).
        case splitMinority
        /// Two processes cut off from the other two.
        case splitHalves
        /// One talking pair's link cut and restored, over and over.
        case flapping

        /// The kinds drawn from when none is named.
        public static let all: [Fault] =
            [.kill("a"), .kill("b"), .kill("c"), .pause("a"), .pause("b"), .pause("c"), .pause("llm")]
            + ClusterNetwork.processes.map { .partition($0) } + [.stallStore, .clockSkew] + linkFaults
        public static let linkFaults: [Fault] = [.delay, .loss, .oneWay, .splitMinority, .splitHalves, .flapping]
        /// Every kind `--faults` can name: the drawn ones and those only asked for by name.
        public static let named: [Fault] = all + [.killAll, .diskFull]

        /// The kinds a network can inject: partitions need namespaces, link faults nftables too.
        public static func available(on network: ClusterNetwork) -> [Fault] {
            all.filter { (network.partitions || !$0.isPartition) && (network.linkFaults || !$0.isLinkFault) }
        }

        public var isPartition: Bool {
            if case .partition = self { true } else { isLinkFault }
        }

        /// Needs the link plane (namespaces and nftables).
        public var isLinkFault: Bool {
            switch self {
            case .delay, .loss, .oneWay, .splitMinority, .splitHalves, .flapping: true
            default: false
            }
        }

        public init?(name: String) {
            guard let fault = Self.named.first(where: { $0.name == name }) else { return nil }
            self = fault
        }

        public var name: String {
            switch self {
            case .kill(let process): "kill-\(process)"
            case .pause(let process): "pause-\(process)"
            case .partition(let process): "partition-\(process)"
            case .killAll: "kill-all"
            case .stallStore: "stall-store"
            case .clockSkew: "clock-skew"
            case .diskFull: "disk-full"
            case .delay: "delay"
            case .loss: "loss"
            case .oneWay: "one-way"
            case .splitMinority: "split-minority"
            case .splitHalves: "split-halves"
            case .flapping: "flapping"
            }
        }

        public var description: String {
            switch self {
            case .kill(let name): "SIGKILL + restart \(name)"
            case .pause(let name): "SIGSTOP + SIGCONT \(name)"
            case .partition(let name): "partition \(name) from everyone"
            case .killAll: "SIGKILL every process + cold restart"
            case .stallStore: "SIGSTOP the store's process (a) past every timeout"
            case .clockSkew: "clocks skewed"
            case .diskFull: "the store's disk full"
            case .delay: "latency with jitter on every link"
            case .loss: "packet loss on every link"
            case .oneWay: "a one-way cut of one link"
            case .splitMinority: "one process split from the other three"
            case .splitHalves: "two processes split from the other two"
            case .flapping: "a flapping link"
            }
        }
    }

    let folder: String
    let processes: [String: ChildProcess]
    let clientURL: String
    /// The clients' history and the run's facts, for the verdict.
    let clientsFile: String
    let factsFile: String
    /// The files of a run's folder: each role process's history, the fake LLM's log of the
    /// labelled calls it answered, the clients' history, and the store.
    static let historyFileNames = ["a", "b", "c"].map { "history-\($0).jsonl" }
    /// `serve`'s default cluster (2 regions x 2 proxies): the coordinators in process a, one
    /// proxy of each region in b, the other in c, so killing b or c leaves every region served.
    static let hosted: [(process: String, roles: [Address])] = [
        ("a", [.store, .gateway, .region(1), .region(2)]),
        ("b", [.proxy(region: 1, index: 1), .proxy(region: 2, index: 1)]),
        ("c", [.proxy(region: 1, index: 2), .proxy(region: 2, index: 2)]),
    ]
    /// The fake LLM process's one endpoint, as the simulator names it.
    static let llmNodes = ["llm-1"]
    static let callsFileName = "history-llm.jsonl"
    static let clientsFileName = "history-clients.jsonl"
    static let storeFileName = "data/agentos.sqlite"
    /// The PostgreSQL store's URL, if the store runs there.
    let storeURL: String?
    let network: ClusterNetwork
    /// The links through the hub, where the link faults act (nil: direct links).
    let linkPlane: LinkPlane?
    /// The store's data directory on a small filesystem of its own (for `disk-full`).
    let smallDisk: SmallDisk?

    /// `llmConfig`: the fake LLM's configuration as JSON (default: realistic latencies, no faults).
    init(
        folder: String, speedup: Int64, seed: UInt64, plantedBug: String?, llmConfig: String? = nil, network: ClusterNetwork = .loopback,
        storeURL: String? = nil, rolePlane: RolePlane = .tls, smallDisk: Bool = false, recordDirectory: String? = nil, plantedCoreBug: String? = nil
    ) throws {
        self.folder = folder
        self.network = network
        // Before any process starts, so every connection they open passes through it.
        linkPlane = network.linkFaults ? try LinkPlane(network: network, seed: seed) : nil
        self.smallDisk = smallDisk ? try SmallDisk(path: (folder as NSString).appendingPathComponent("data")) : nil
        self.storeURL = storeURL
        // Through the environment, so the password stays out of the process list; only the
        // process hosting the store role opens it.
        if let storeURL { setenv("AGENTOS_STORE_URL", storeURL, 1) }
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        let secret = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
        try secret.write(toFile: path("secret"), atomically: true, encoding: .utf8)
        chmod(path("secret"), 0o600)
        // The LLM: realistic latencies, no content faults (the real run keeps no call records,
        // so a malformed-answer abort could not be justified from its history).
        let llmConfig = llmConfig ?? #"{"profile": "perfect", "latency": {"firstTokenNanos": {"min": 50000000, "max": 150000000}, "perTokenNanos": {"min": 20000000, "max": 30000000}, "generationTokens": {"min": 150, "max": 400}, "votingTokens": {"min": 40, "max": 120}, "tailChance": [1, 50], "tailFactor": 3}}"#
        try llmConfig.write(toFile: path("llm.json"), atomically: true, encoding: .utf8)
        // On loopback every listener needs its own free port; in namespaces each process has its
        // own address, so the ports can be fixed.
        func port(_ fixed: Int, _ process: String) throws -> Int { network.partitions ? fixed : try freePort(host: network.host(of: process)) }
        func url(_ process: String, _ port: Int) -> String { "http://\(network.host(of: process)):\(port)" }
        let llmPort = try port(8000, "llm")
        let llm = try ChildProcess(
            name: "fake-llm",
            arguments: [
                "fake-llm", "--host", network.host(of: "llm"), "--port", String(llmPort), "--config", path("llm.json"), "--speedup", String(speedup),
                "--seed", String(seed), "--history", path(Self.callsFileName),
            ],
            readyMarker: "listening on", log: path("fake-llm.log"), launcher: network.launcher(for: "llm"))
        let planePorts = try ["a", "b", "c"].map { try (name: $0, port: port(8001, $0)) }
        let plane = planePorts.map { url($0.name, $0.port) }
        // `serve`'s default cluster (2 regions x 2 proxies): the coordinators in process a, one
        // proxy of each region in b, the other in c, so killing b or c leaves every region served.
        let hosted = Self.hosted
        var urls: [Address: String] = [.fakeLLM: url("llm", llmPort)]
        for (index, process) in hosted.enumerated() { for role in process.roles { urls[role] = plane[index] } }
        let layout = ClusterLayout(spec: .serveDefault, urls: urls)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(layout).write(to: URL(fileURLWithPath: path("cluster.json")))
        let authentication: [String]
        switch rolePlane {
        case .tls:
            try ClusterCertificates.initialize(directory: path("certs"), layout: layout, days: 1)
            authentication = ["--tls-dir", path("certs")]
        case .secret:
            authentication = ["--role-secret-file", path("secret")]
        }
        var processes: [String: ChildProcess] = ["llm": llm]
        var clientPort = 0
        for (index, (name, roles)) in hosted.enumerated() {
            let publicPort = try port(8000, name)
            if index == 0 { clientPort = publicPort }
            var arguments = [
                "serve", "--cluster", path("cluster.json")] + authentication + ["--roles", roles.map(\.name).joined(separator: ","), "--host", network.host(of: name),
                "--port", String(publicPort), "--data-dir", path("data"), "--speedup", String(speedup), "--history", path("history-\(name).jsonl"),
                "--log-level", "notice",
            ]
            try "0 1".write(toFile: path("clock-\(name)"), atomically: true, encoding: .utf8)
            arguments += ["--clock-control", path("clock-\(name)")]
            if let plantedBug { arguments += ["--planted-bug", plantedBug] }
            if let plantedCoreBug { arguments += ["--plant", plantedCoreBug] }
            if let recordDirectory, ClusterRecording.recordingProcesses.contains(name) {
                arguments += ["--record", (recordDirectory as NSString).appendingPathComponent(name)]
            }
            processes[name] = try ChildProcess(
                name: name, arguments: arguments, readyMarker: "agentos serving", log: path("serve-\(name).log"), launcher: network.launcher(for: name))
        }
        self.processes = processes
        clientURL = url("a", clientPort)
        clientsFile = path(Self.clientsFileName)
        factsFile = path(ClusterRunFacts.fileName)
    }

    /// How the role planes authenticate each other.
    public enum RolePlane: String, Sendable {
        case tls
        case secret
    }

    /// Applies a fault for its length, then undoes it; returns what it did, where that can be
    /// measured (packets dropped, chunks delayed, store requests failed).
    @discardableResult
    func inject(_ step: FaultStep) async throws -> String? {
        let seconds = step.seconds
        switch step.fault {
        case .kill(let name):
            processes[name]!.killNow()
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            try processes[name]!.restart()
        case .pause(let name):
            processes[name]!.signal(SIGSTOP)
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            processes[name]!.signal(SIGCONT)
        case .stallStore:
            processes["a"]!.signal(SIGSTOP)
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            processes["a"]!.signal(SIGCONT)
        case .partition(let name):
            try network.setLink(of: name, up: false)
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            try network.setLink(of: name, up: true)
        case .killAll:
            for name in processes.keys.sorted() { processes[name]!.killNow() }
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            for name in ["llm", "a", "b", "c"] where processes[name] != nil { try processes[name]!.restart() }
        case .clockSkew:
            for (name, skew) in step.clocks { try setClock(of: name, skew) }
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            for name in step.clocks.keys { try setClock(of: name, .none) }
        case .diskFull:
            guard let smallDisk else { throw ClusterTestError("disk-full needs the store's data directory on a small disk") }
            let failuresBefore = storeFailuresLogged()
            _ = try smallDisk.fill()
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            smallDisk.free()
            return "\(storeFailuresLogged() - failuresBefore) store request(s) failed"
        case .delay, .loss, .oneWay, .splitMinority, .splitHalves, .flapping:
            return try await injectLinks(step)
        }
        return nil
    }

    /// Moves a role process's clock (it polls its clock-control file every 100 ms).
    func setClock(of process: String, _ skew: ClockFault) throws {
        try "\(skew.offsetMillis) \(skew.rate)".write(toFile: (folder as NSString).appendingPathComponent("clock-\(process)"), atomically: true, encoding: .utf8)
    }

    /// Every process running, resumed and connected.
    func healAll() throws {
        if network.partitions { for name in ClusterNetwork.processes { try network.setLink(of: name, up: true) } }
        try linkPlane?.apply(.healthy)
        smallDisk?.free()
        for name in ["a", "b", "c"] { try setClock(of: name, .none) }
        for process in processes.values {
            process.signal(SIGCONT)
            if !process.isRunning { try process.restart() }
        }
    }

    /// Stops everything gracefully; returns the processes that had died without being killed.
    func stopAll() -> [String] {
        let dead = processes.filter { !$0.value.isRunning }.map(\.key).sorted()
        for process in processes.values { process.stop() }
        linkPlane?.stop()
        smallDisk?.release()
        return dead
    }
}
