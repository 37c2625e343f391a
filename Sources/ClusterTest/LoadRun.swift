import AsyncHTTPClient
import Campaigns
import Core
import Determinism
import Foundation
import Scenarios
import Sim

/// The seed README's testing client against a real gateway (`agentos load`): bursts of
/// queries in one of the seed's patterns (or the reference's Poisson benchmark), each carrying
/// an idempotency key, so a query retried after a 503 or a lost answer maps to the task the
/// first attempt created; every task is polled until it is final.
public struct LoadRun: Sendable {
    public enum Pattern: String, CaseIterable, Sendable {
        case sendAll = "send_all"
        case sendInInterval = "send_in_interval"
        case sendBatchInterval = "send_batch_interval"
        case sendDynamicBatchInterval = "send_dynamic_batch_interval"
        case poisson
    }

    public var url = "http://127.0.0.1:8000"
    public var pattern = Pattern.sendAll
    public var requests = 10
    /// Gaps between sends or bursts, seconds.
    public var intervalMin = 1.0
    public var intervalMax = 5.0
    public var batch = 3
    public var batchMin = 1
    public var batchMax = 4
    /// Arrivals per second (poisson).
    public var rate = 0.2
    public var taskName = "code_generation"
    public var rounds = 2
    public var samples = 3
    public var voters = 3
    /// Cycle through the reference benchmark's five task shapes instead of rounds/samples/voters.
    public var reference = false
    /// Seconds between status polls (the seed's 3).
    public var poll = 3.0
    /// Seconds a task may take before it counts as timed out.
    public var timeout = 900.0
    /// Send the arrivals a simulated client draws with this seed.
    public var arrivalsSeed: UInt64?
    /// The server's speedup: gaps and polls are divided by it, latencies multiplied by it.
    public var speedup = 1.0
    public var progress = false

    public init() {}

    /// The first problem with these settings, if any.
    public func problem() -> String? {
        if requests < 1 { return "--requests must be at least 1" }
        if !(intervalMin >= 0 && intervalMin <= intervalMax) { return "need 0 <= --interval-min <= --interval-max" }
        if !(batch >= 1 && batchMin >= 1 && batchMin <= batchMax) { return "batch sizes must be at least 1, min <= max" }
        if !(rate > 0 && poll > 0 && timeout > 0) { return "--rate, --poll and --timeout must be positive" }
        if speedup < 1 { return "--speedup must be at least 1" }
        if arrivalsSeed != nil, pattern == .poisson, (rate * 3600).rounded() < 1 { return "--rate is below one arrival per hour" }
        if !(URL(string: url)?.scheme == "http" || URL(string: url)?.scheme == "https") { return "--url must be http(s)://host:port" }
        return nil
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
        func duration(_ seconds: Double) -> Interval { Interval(nanoseconds: Int64(seconds * 1e9)) }
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
        return ClientArrivals.plan(workload, client: Address.client(1).name, seed: seed).map { (Double($0.gap.nanoseconds) / 1e9, $0.requests.count) }
    }

    func query(_ index: Int, run: String) -> [String: Any] {
        let shapes = [(3, 5, 5), (3, 3, 3), (2, 3, 3), (3, 4, 3), (3, 5, 3)]
        let (r, s, v) = reference ? shapes[index % shapes.count] : (rounds, samples, voters)
        return [
            "task_name": taskName, "task_description": "Load request \(index + 1): write a function and test it.", "n_rounds": r, "n_samples": s,
            "n_voters": v, "request_id": "load-\(run)-\(index + 1)",
        ]
    }

    /// Sends every request and waits for every task; the report.
    public func run() async -> LoadReport {
        let base = url.hasSuffix("/") ? String(url.dropLast()) : url
        let bursts = plan()
        // One run's keys never collide with another's.
        let runID = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(5)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { _ = client.shutdown() }
        let tracker = LoadTracker(total: requests, progress: progress)
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
        return await tracker.report(wallSeconds: Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18, timeScale: speedup)
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
            guard let submitted = try? await GatewayHTTP.call(client, "POST", "\(base)/query", body: data, timeout: 60) else {
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
            guard let status = try? await GatewayHTTP.call(client, "GET", "\(base)/task/status?task_id=\(task)", body: nil, timeout: 60) else { continue }
            switch status.json?["status"] as? String {
            case "completed": return .completed(latency: seconds())
            case "aborted": return .aborted(status.json?["err"] as? String ?? "no reason")
            case "non_exist": return .failed("task \(task) reported unknown")
            default: continue
            }
        }
        return .failed("task \(task) not final after \(Int(timeout)) s")
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
        return LoadReport(
            requests: total, completed: latencies.count, aborted: aborted.count, failed: failures.count,
            mean: sorted.isEmpty ? nil : sorted.reduce(0, +) / Double(sorted.count), p50: Percentile.nearestRank(50, of: sorted),
            p90: Percentile.nearestRank(90, of: sorted), p99: Percentile.nearestRank(99, of: sorted), max: sorted.last, throughputPerMinute: Double(latencies.count) / (wallSeconds * timeScale) * 60,
            wallSeconds: wallSeconds, latencies: sorted, failures: Array((aborted + failures).prefix(20)))
    }
}

public struct LoadReport: Encodable, Sendable {
    public let requests: Int
    public let completed: Int
    public let aborted: Int
    public let failed: Int
    public let mean: Double?
    public let p50: Double?
    public let p90: Double?
    public let p99: Double?
    public let max: Double?
    public let throughputPerMinute: Double
    public let wallSeconds: Double
    /// Every completed task's latency, sorted (for comparisons).
    public let latencies: [Double]
    public let failures: [String]

    public func print() {
        func s(_ value: Double?) -> String { value.map { String(format: "%.2f s", $0) } ?? "n/a" }
        Swift.print("requests   completed  aborted  failed")
        Swift.print(String(format: "%-10d %-10d %-8d %d", requests, completed, aborted, failed))
        Swift.print("latency: mean \(s(mean)), p50 \(s(p50)), p90 \(s(p90)), p99 \(s(p99)), max \(s(max))")
        Swift.print(String(format: "throughput: %.1f tasks/min over %.1f s", throughputPerMinute, wallSeconds))
        for failure in failures { Swift.print("  not completed: \(failure)") }
    }
}
