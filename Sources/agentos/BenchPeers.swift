import Campaigns
import Foundation

/// The kernel benchmark's two peers, run on the same workload (nodes, messages in flight,
/// deliveries): a bare C binary heap, the limit a discrete-event loop cannot beat here, and
/// SimPy, the engine a Python user would pick. Their programs live in `Benchmarks/Peers/`.
struct KernelPeers {
    struct Result: Encodable {
        let peer: String
        /// nil when the peer could not run here; `note` says why.
        let deliveriesPerSecond: Double?
        let note: String?
    }

    let folder: String

    /// Where the peer programs are: `Benchmarks/Peers` under the current directory (the
    /// repository's root), or the folder given.
    static func locate(_ given: String?) throws -> KernelPeers {
        let folder = given ?? "Benchmarks/Peers"
        guard FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("bare_heap.c")) else {
            throw CLIError("no peer programs in '\(folder)' (run from the repository's root, or give --peers-dir DIR)")
        }
        return KernelPeers(folder: folder)
    }

    /// Compiles the C peer with the system's C compiler (-O3) and runs it.
    func bareHeap(nodes: Int, inFlight: Int, deliveries: UInt64) -> Result {
        let binary = FileManager.default.temporaryDirectory.appendingPathComponent("agentos-bare-heap-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: binary) }
        let source = (folder as NSString).appendingPathComponent("bare_heap.c")
        guard let compiler = ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return Result(peer: "bare C heap", deliveriesPerSecond: nil, note: "no C compiler (cc, gcc or clang)")
        }
        guard let built = try? Self.execute(compiler, ["-O3", "-o", binary, source]), built.status == 0 else {
            return Result(peer: "bare C heap", deliveriesPerSecond: nil, note: "\(compiler) could not compile \(source)")
        }
        return parse("bare C heap", try? Self.execute(binary, [String(nodes), String(inFlight), String(deliveries)]))
    }

    /// Runs the SimPy peer if SimPy is installed (fewer deliveries: it is about 100x slower).
    func simpy(nodes: Int, inFlight: Int, deliveries: UInt64) -> Result {
        let script = (folder as NSString).appendingPathComponent("simpy_kernel.py")
        guard let python = Self.which("python3") ?? ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            return Result(peer: "SimPy", deliveriesPerSecond: nil, note: "no python3")
        }
        guard let probe = try? Self.execute(python, ["-c", "import simpy"]), probe.status == 0 else {
            return Result(peer: "SimPy", deliveriesPerSecond: nil, note: "SimPy is not installed (pip install simpy==4.1.2)")
        }
        return parse("SimPy", try? Self.execute(python, [script, String(nodes), String(inFlight), String(deliveries)]))
    }

    private func parse(_ peer: String, _ outcome: (status: Int32, output: String)?) -> Result {
        guard let outcome, outcome.status == 0,
            let rate = outcome.output.split(separator: "\n").first(where: { $0.hasPrefix("deliveries/s=") })
                .flatMap({ Double($0.dropFirst("deliveries/s=".count).split(separator: " ").first ?? "") })
        else {
            return Result(peer: peer, deliveriesPerSecond: nil, note: "the peer failed: \(outcome?.output.prefix(200) ?? "did not start")")
        }
        return Result(peer: peer, deliveriesPerSecond: rate, note: nil)
    }

    static func which(_ name: String) -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func execute(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProcess(executable, arguments)
    }
}
