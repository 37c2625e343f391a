import Foundation

/// The network the cluster under test runs on.
///
/// - Loopback: every process on 127.0.0.1. No partitions: a process can only be killed or paused.
/// - Namespaces: every process in its own Linux network namespace with one virtual ethernet
///   port on a bridge; the bridge lives in a hub namespace where the test driver (and so its
///   clients) runs. Taking a process's bridge port down isolates it from every other process
///   and from the clients, both ways, with no change to the host's own network: a real
///   partition, healed by bringing the port back up. Needs root and `ip` (iproute2).
public struct ClusterNetwork: Sendable {
    /// Namespace names start with this (`<prefix>-hub`, `<prefix>-a`, ...); nil on loopback.
    public let prefix: String?

    public init(prefix: String?) {
        self.prefix = prefix
    }

    public static let loopback = ClusterNetwork(prefix: nil)
    public static let processes = ["a", "b", "c", "llm"]
    static let subnet = "10.77.0"

    public var partitions: Bool { prefix != nil }
    /// Link faults (loss, delay, one-way cuts, splits, flapping) need nftables in the namespaces.
    public var linkFaults: Bool { partitions && LinkPlane.nftTool != nil }

    /// The address a process listens on.
    public func host(of process: String) -> String {
        guard prefix != nil, let index = Self.processes.firstIndex(of: process) else { return "127.0.0.1" }
        return "\(Self.subnet).\(10 + index)"
    }

    /// The command that runs `arguments` of this binary inside the process's namespace, if any.
    func launcher(for process: String) -> (executable: URL, prefix: [String]) {
        guard let prefix else { return (ChildProcess.binary, []) }
        return (URL(fileURLWithPath: Self.ipTool ?? "ip"), ["netns", "exec", "\(prefix)-\(process)", ChildProcess.binary.path])
    }

    /// Cuts (`up: false`) or restores a process's only link.
    func setLink(of process: String, up: Bool) throws {
        guard let prefix else { throw ClusterTestError("partitions need network namespaces") }
        try Self.ip(["-n", "\(prefix)-hub", "link", "set", "h-\(process)", up ? "up" : "down"])
    }

    // MARK: - Setting up and tearing down

    public static var ipTool: String? {
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `ip` and throws its error output when it fails.
    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        guard let tool = ipTool else { throw ClusterTestError("iproute2's `ip` is not installed") }
        return try run(tool, arguments)
    }

    /// Runs a tool, returns its output, and throws its error output when it fails.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let name = (tool as NSString).lastPathComponent
            throw ClusterTestError("\(name) \(arguments.joined(separator: " ")): \(String(decoding: error, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Why namespaces cannot be used here, or nil if they can (checked by creating one).
    public static func unavailableReason() -> String? {
        guard geteuid() == 0 else { return "not running as root" }
        guard ipTool != nil else { return "iproute2's `ip` is not installed" }
        let probe = "aosct\(getpid())-probe"
        do {
            try ip(["netns", "add", probe])
            try ip(["netns", "del", probe])
            return nil
        } catch {
            return "cannot create a network namespace (\(error))"
        }
    }

    /// Creates the hub, the bridge and one namespace per process. On failure, removes what it made.
    public static func create() throws -> ClusterNetwork {
        removeStale()
        let prefix = "aosct\(getpid())"
        let network = ClusterNetwork(prefix: prefix)
        do {
            let hub = "\(prefix)-hub"
            try ip(["netns", "add", hub])
            try ip(["-n", hub, "link", "set", "lo", "up"])
            try ip(["-n", hub, "link", "add", "br0", "type", "bridge"])
            try ip(["-n", hub, "addr", "add", "\(subnet).1/24", "dev", "br0"])
            try ip(["-n", hub, "link", "set", "br0", "up"])
            for process in processes {
                let space = "\(prefix)-\(process)"
                try ip(["netns", "add", space])
                try ip(["-n", space, "link", "set", "lo", "up"])
                try ip(["link", "add", "eth-\(process)", "netns", space, "type", "veth", "peer", "name", "h-\(process)", "netns", hub])
                try ip(["-n", space, "addr", "add", "\(network.host(of: process))/24", "dev", "eth-\(process)"])
                try ip(["-n", space, "link", "set", "eth-\(process)", "up"])
                try ip(["-n", hub, "link", "set", "h-\(process)", "master", "br0"])
                try ip(["-n", hub, "link", "set", "h-\(process)", "up"])
            }
        } catch {
            network.remove()
            throw error
        }
        return network
    }

    /// Deletes this run's namespaces (their interfaces go with them).
    public func remove() {
        guard let prefix else { return }
        for name in ["hub"] + Self.processes { _ = try? Self.ip(["netns", "del", "\(prefix)-\(name)"]) }
    }

    /// Deletes namespaces left by cluster tests that died without cleaning up.
    static func removeStale() {
        guard let list = try? ip(["netns", "list"]) else { return }
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            guard name.hasPrefix("aosct"), let dash = name.firstIndex(of: "-"),
                let pid = Int32(name[name.index(name.startIndex, offsetBy: 5)..<dash]), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            _ = try? ip(["netns", "del", name])
        }
    }
}
