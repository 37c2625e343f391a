import Foundation

/// Runs this binary as a child process and collects its standard output. `status` says how it
/// ended. Every campaign runs its seeds this way, so one crashing seed cannot lose the rest.
public func runChild(_ arguments: [String]) throws -> (status: String, stdout: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let status =
        process.terminationReason == .uncaughtSignal
        ? "was killed by signal \(process.terminationStatus)" : "exited with status \(process.terminationStatus)"
    return (status, String(decoding: data, as: UTF8.self))
}

/// Runs a program to its end and collects its standard output and error together: for tools
/// (`swift build`, a peer benchmark), not for seeds.
public func runProcess(
    _ executable: String, _ arguments: [String], directory: URL? = nil, environment: [String: String] = [:]
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// The seed results of a child's standard output (lines that are not one are skipped).
func seedResults(in stdout: String) -> [SeedResult] {
    stdout.split(separator: "\n").compactMap { try? JSONDecoder().decode(SeedResult.self, from: Data($0.utf8)) }
}

/// Runs batches of seeds in child processes and gathers their results; shared by the worker
/// threads of a sweep, so every mutable field sits behind the lock.
final class BatchRunner: @unchecked Sendable {
    let scenario: String
    let crashSeed: UInt64?
    let plant: String?
    private let lock = NSLock()
    private var results: [UInt64: SeedResult] = [:]
    private var bar: ProgressBar

    init(scenario: String, crashSeed: UInt64?, plant: String? = nil, bar: ProgressBar) {
        self.scenario = scenario
        self.crashSeed = crashSeed
        self.plant = plant
        self.bar = bar
    }

    func run(_ seeds: [UInt64]) {
        var arguments = ["explore-batch", "--scenario", scenario, "--seeds", seeds.map(String.init).joined(separator: ",")]
        if let crashSeed { arguments += ["--crash-seed", String(crashSeed)] }
        if let plant { arguments += ["--plant", plant] }
        let outcome = try? runChild(arguments)
        var got: [UInt64: SeedResult] = [:]
        for result in seedResults(in: outcome?.stdout ?? "") { got[result.seed] = result }
        let missing = seeds.filter { got[$0] == nil }
        if !missing.isEmpty, seeds.count > 1 {
            // Someone in this batch killed the process: find out who, one seed at a time.
            for seed in missing { run([seed]) }
        }
        lock.lock()
        defer { lock.unlock() }
        for (seed, result) in got { results[seed] = result }
        if seeds.count == 1, let seed = missing.first {
            let reason = outcome.map { "the process \($0.status)" } ?? "the process could not start"
            results[seed] = SeedResult(seed: seed, crashed: reason)
        }
        bar.update(results.count, note: "\(results.values.filter { !$0.passed }.count) failing")
    }

    func finish() -> [SeedResult] {
        lock.lock()
        defer { lock.unlock() }
        bar.finish()
        return results.values.sorted { $0.seed < $1.seed }
    }
}
