import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Scenarios
import Sim

/// The seed README's testing client against a real gateway URL.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Drive a running gateway with the seed's client patterns (or the reference's Poisson benchmark) and report latency.",
        discussion: """
            Every query carries an idempotency key (request_id), so a query retried after a 503 (the cluster \
            is full: it waits for Retry-After) or a lost answer maps to the task the first attempt created. \
            Exit status: 0 every task completed, 1 some failed, were aborted or timed out, 2 bad input.
            """
    )

    enum Pattern: String, ExpressibleByArgument, CaseIterable {
        case sendAll = "send_all"
        case sendInInterval = "send_in_interval"
        case sendBatchInterval = "send_batch_interval"
        case sendDynamicBatchInterval = "send_dynamic_batch_interval"
        case poisson
    }

    @Option(help: "The gateway's base URL.") var url = "http://127.0.0.1:8000"
    @Option(help: "send_all, send_in_interval, send_batch_interval, send_dynamic_batch_interval, poisson.") var pattern = Pattern.sendAll
    @Option(help: "How many requests.") var requests = 10
    @Option(help: "Shortest gap between sends or bursts, seconds.") var intervalMin = 1.0
    @Option(help: "Longest gap between sends or bursts, seconds.") var intervalMax = 5.0
    @Option(help: "Burst size (send_batch_interval).") var batch = 3
    @Option(help: "Smallest burst (send_dynamic_batch_interval).") var batchMin = 1
    @Option(help: "Largest burst (send_dynamic_batch_interval).") var batchMax = 4
    @Option(help: "Arrivals per second (poisson).") var rate = 0.2
    @Option(help: "Task name.") var taskName = "code_generation"
    @Option(help: "Rounds per task.") var rounds = 2
    @Option(help: "Samples per round.") var samples = 3
    @Option(help: "Voters per round.") var voters = 3
    @Flag(help: "Cycle through the reference benchmark's five tasks instead of --rounds/--samples/--voters.") var reference = false
    @Option(help: "Seconds between status polls (the seed's 3).") var poll = 3.0
    @Option(help: "Seconds a task may take before it counts as timed out.") var timeout = 900.0
    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Send the arrivals a simulated client draws with this seed (the same pattern and rate), so a real run and `agentos run --seed` see the same schedule.")
    var arrivalsSeed: UInt64?
    @Option(help: "The server's --speedup: gaps and polls are divided by it and latencies reported multiplied by it, in the cluster's own time.")
    var speedup = 1.0

    func validate() throws {
        guard requests >= 1 else { throw ValidationError("--requests must be at least 1") }
        guard intervalMin >= 0, intervalMin <= intervalMax else { throw ValidationError("need 0 <= --interval-min <= --interval-max") }
        guard batch >= 1, batchMin >= 1, batchMin <= batchMax else { throw ValidationError("batch sizes must be at least 1, min <= max") }
        guard rate > 0, poll > 0, timeout > 0 else { throw ValidationError("--rate, --poll and --timeout must be positive") }
        guard speedup >= 1 else { throw ValidationError("--speedup must be at least 1") }
        if arrivalsSeed != nil, pattern == .poisson, (rate * 3600).rounded() < 1 { throw ValidationError("--rate is below one arrival per hour") }
        guard URL(string: url)?.scheme == "http" || URL(string: url)?.scheme == "https" else { throw ValidationError("--url must be http(s)://host:port") }
    }

    /// The bursts: how many requests, after what gap (seconds of the cluster's own time).
    func plan() -> [(gap: Double, size: Int)] {
        if let arrivalsSeed { return simulatedPlan(seed: arrivalsSeed) }
        var bursts: [(Double, Int)] = []
        var sent = 0
        while sent < requests {
            let first = bursts.isEmpty
            let gap = first ? 0 : Double.random(in: intervalMin...intervalMax)
            let size: Int
            switch pattern {
            case .sendAll: size = requests
            case .sendInInterval: size = 1
            case .sendBatchInterval: size = batch
            case .sendDynamicBatchInterval: size = Int.random(in: batchMin...batchMax)
            case .poisson:
                bursts.append((first ? 0 : -log(Double.random(in: Double.ulpOfOne..<1)) / rate, 1))
                sent += 1
                continue
            }
            bursts.append((gap, min(size, requests - sent)))
            sent += min(size, requests - sent)
        }
        return bursts
    }

    /// The simulator's draw of the same pattern for `client-1` of a run with `seed`.
    func simulatedPlan(seed: UInt64) -> [(gap: Double, size: Int)] {
        func duration(_ seconds: Double) -> SimDuration { SimDuration(nanoseconds: Int64(seconds * 1e9)) }
        let simulated: ClientPattern
        switch pattern {
        case .sendAll: simulated = .sendAll
        case .sendInInterval: simulated = .sendInInterval(min: duration(intervalMin), max: duration(intervalMax))
        case .sendBatchInterval: simulated = .sendBatchInterval(min: duration(intervalMin), max: duration(intervalMax), batch: batch)
        case .sendDynamicBatchInterval:
            simulated = .sendDynamicBatchInterval(min: duration(intervalMin), max: duration(intervalMax), batchMin: batchMin, batchMax: batchMax)
        case .poisson: simulated = .poisson(perHour: Int((rate * 3600).rounded()))
        }
        let workload = Workload(clients: 1, requestsPerClient: requests, pattern: simulated)
        return ClientArrivals.plan(workload, client: "client-1", seed: seed).map { (Double($0.gap.nanoseconds) / 1e9, $0.requests.count) }
    }

    func query(_ index: Int, run: String) -> [String: Any] {
        let shapes = [(3, 5, 5), (3, 3, 3), (2, 3, 3), (3, 4, 3), (3, 5, 3)]
        let (r, s, v) = reference ? shapes[index % shapes.count] : (rounds, samples, voters)
        return [
            "task_name": taskName, "task_description": "Load request \(index + 1): write a function and test it.", "n_rounds": r, "n_samples": s,
            "n_voters": v, "request_id": "load-\(run)-\(index + 1)",
        ]
    }

    func run() async throws {
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let bursts = plan()
        // One run's keys never collide with another's.
        let runID = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { _ = client.shutdown() }
        let tracker = LoadTracker(total: requests, progress: !json && isatty(2) != 0)
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            var index = 0
            for burst in bursts {
                if burst.gap > 0 { try? await Task.sleep(for: .milliseconds(Int64(burst.gap * 1000 / speedup))) }
                for _ in 0..<burst.size {
                    let body = query(index, run: runID)
                    index += 1
                    group.addTask { await tracker.record(await runOne(base: base, body: body, client: client)) }
                }
            }
        }
        let wall = ContinuousClock.now - started
        let report = await tracker.report(
            wallSeconds: Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18, timeScale: speedup)
        if json { printJSON(report) } else { report.print() }
        if report.completed < report.requests { throw ExitCode(ExitStatus.failed) }
    }

    /// Submits one query (again, with the same key, after a 503 or a lost answer) and polls
    /// its status until it is final. Latency counts from the first attempt.
    func runOne(base: String, body: [String: Any], client: HTTPClient) async -> LoadOutcome {
        let started = ContinuousClock.now
        // In the cluster's own time: real seconds times the speedup.
        func seconds() -> Double {
            let elapsed = ContinuousClock.now - started
            return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * speedup
        }
        guard let data = try? JSONSerialization.data(withJSONObject: body) else { return .failed("cannot encode the query") }
        var task: Int?
        var lastError = "gateway unreachable"
        while task == nil, seconds() < timeout {
            guard let submitted = try? await http("POST", "\(base)/query", body: data, client: client) else {
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            switch submitted.status {
            case 200:
                task = submitted.json?["task_id"] as? Int
                if task == nil { return .failed("HTTP 200 without a task_id") }
            case 429, 503:
                // Full or slow: nothing was created under a fresh key, or the key finds what was.
                lastError = "HTTP \(submitted.status): \(submitted.json?["err"] as? String ?? "?")"
                try? await Task.sleep(for: .milliseconds(Int64(Double((submitted.retryAfter ?? 1) * 1000) / speedup)))
            default:
                return .failed("rejected (HTTP \(submitted.status)): \(submitted.json?["err"] as? String ?? "?")")
            }
        }
        guard let task else { return .failed("not accepted within \(Int(timeout)) s (\(lastError))") }
        while seconds() < timeout {
            try? await Task.sleep(for: .milliseconds(Int64(poll * 1000 / speedup)))
            guard let status = try? await http("GET", "\(base)/task/status?task_id=\(task)", body: nil, client: client) else { continue }
            switch status.json?["status"] as? String {
            case "completed": return .completed(latency: seconds())
            case "aborted": return .aborted(status.json?["err"] as? String ?? "no reason")
            case "non_exist": return .failed("task \(task) reported unknown")
            default: continue
            }
        }
        return .failed("task \(task) not final after \(Int(timeout)) s")
    }

    func http(_ method: String, _ url: String, body: Data?, client: HTTPClient) async throws -> (status: Int, json: [String: Any]?, retryAfter: Int64?) {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let data = Data(buffer: try await response.body.collect(upTo: 8 << 20))
        let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int64($0) }.map { min(max($0, 1), 60) }
        return (Int(response.status.code), try? JSONSerialization.jsonObject(with: data) as? [String: Any], retryAfter)
    }
}

enum LoadOutcome: Sendable {
    case completed(latency: Double)
    case aborted(String)
    case failed(String)
}

actor LoadTracker {
    let total: Int
    var bar: ProgressBar
    var latencies: [Double] = []
    var aborted: [String] = []
    var failures: [String] = []

    init(total: Int, progress: Bool) {
        self.total = total
        bar = ProgressBar(total: total, label: "tasks", enabled: progress)
    }

    func record(_ outcome: LoadOutcome) {
        switch outcome {
        case .completed(let latency): latencies.append(latency)
        case .aborted(let reason): aborted.append(reason)
        case .failed(let reason): failures.append(reason)
        }
        bar.update(latencies.count + aborted.count + failures.count, note: "\(aborted.count + failures.count) not completed")
    }

    func report(wallSeconds: Double, timeScale: Double) -> LoadReport {
        bar.finish()
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double? {
            sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
        }
        return LoadReport(
            requests: total, completed: latencies.count, aborted: aborted.count, failed: failures.count,
            mean: sorted.isEmpty ? nil : sorted.reduce(0, +) / Double(sorted.count), p50: percentile(0.5),
            p90: percentile(0.9), p99: percentile(0.99), max: sorted.last, throughputPerMinute: Double(latencies.count) / (wallSeconds * timeScale) * 60,
            wallSeconds: wallSeconds, latencies: sorted, failures: Array((aborted + failures).prefix(20)))
    }
}

struct LoadReport: Encodable {
    let requests: Int
    let completed: Int
    let aborted: Int
    let failed: Int
    let mean: Double?
    let p50: Double?
    let p90: Double?
    let p99: Double?
    let max: Double?
    let throughputPerMinute: Double
    let wallSeconds: Double
    /// Every completed task's latency, sorted (for comparisons).
    let latencies: [Double]
    let failures: [String]

    func print() {
        func s(_ value: Double?) -> String { value.map { String(format: "%.2f s", $0) } ?? "n/a" }
        Swift.print("requests   completed  aborted  failed")
        Swift.print(String(format: "%-10d %-10d %-8d %d", requests, completed, aborted, failed))
        Swift.print("latency: mean \(s(mean)), p50 \(s(p50)), p90 \(s(p90)), p99 \(s(p99)), max \(s(max))")
        Swift.print(String(format: "throughput: %.1f tasks/min over %.1f s", throughputPerMinute, wallSeconds))
        for failure in failures { Swift.print("  not completed: \(failure)") }
    }
}
