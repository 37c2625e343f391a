import AsyncHTTPClient
import Checks
import Core
import Foundation
import NIOCore
import Scenarios
import Server
import Sim

/// What the cluster test's clients saw, in the checkers' vocabulary (`ClientObservation`), with
/// wall-clock times: kept for the report and appended to the clients' history file, one line
/// per observation, as the roles append theirs.
actor ClientRecorder {
    struct Entry: Codable, Sendable {
        let time: Int64
        let node: Address
        let observation: ClientObservation
    }

    private(set) var entries: [Entry] = []
    private(set) var open = 0
    private(set) var acknowledged = 0
    private(set) var finished = 0
    /// Clients that have sent every request.
    private(set) var clientsDone = 0
    private let writer: HistoryWriter

    init(file: String) throws {
        writer = try HistoryWriter(path: file)
    }

    func record(_ node: Address, _ observation: ClientObservation) {
        let entry = Entry(time: HistoryLine.now(), node: node, observation: observation)
        entries.append(entry)
        writer.append(entry)
        switch observation {
        case .submitted: open += 1
        case .acknowledged: acknowledged += 1
        case .rejected: open -= 1
        case .finished:
            open -= 1
            finished += 1
        case .allSubmitted: clientsDone += 1
        default: break
        }
    }
}

/// The clients of one cluster test: a parity scenario's own clients (its arrivals, task
/// templates and poll interval, in real time), or `clients` clients sending a mix of plain and
/// graph tasks at seeded gaps over 80 % of the traffic phase.
struct ClusterWorkload {
    var drivers: [ClusterTestClient] = []
    /// How long the clients send, in real seconds.
    var trafficSeconds: Int

    init(
        options: ClusterTestOptions, parity: Scenario?, base: String, run: String, client http: HTTPClient, recorder: ClientRecorder,
        random: inout SimRandom
    ) {
        let speedup = options.speedup
        trafficSeconds = options.duration
        if let scenario = parity {
            let workload = scenario.workload
            let queries = workload.tasks.map { $0.query(description: "write and test a function.") }
            for client in 1...workload.clients {
                let name = Address.client(client)
                var gaps: [Double] = []
                for burst in ClientArrivals.plan(workload, client: name.name, seed: options.seed) {
                    gaps += burst.requests.enumerated().map { $0.offset == 0 ? Double(burst.gap.nanoseconds) / 1e9 / Double(speedup) : 0 }
                }
                var driver = ClusterTestClient(
                    name: name, base: base, requests: workload.requestsPerClient, gaps: gaps, queries: queries, run: run, speedup: speedup,
                    client: http, recorder: recorder)
                driver.poll = Double(workload.pollInterval.nanoseconds) / 1e9 / Double(speedup)
                drivers.append(driver)
            }
            trafficSeconds = Int((drivers.map { $0.gaps.reduce(0, +) }.max() ?? 0).rounded(.up)) + 1
        } else {
            let requests = options.requestsPerClient
            let spread = Double(options.duration) * 0.8 / Double(requests)
            var queries = [(1, 2, 2), (2, 2, 2), (1, 3, 2), (2, 3, 3)].map {
                Query(taskName: "code_generation", taskDescription: "write and test a function.", nRounds: $0.0, nSamples: $0.1, nVoters: $0.2)
            }
            // A graph too, so prompts carry parents' results for prompt correctness to judge.
            queries[1].graph = TaskGraph(nodes: [
                GraphNode(id: "plan"), GraphNode(id: "code", dependsOn: ["plan"]), GraphNode(id: "tests", dependsOn: ["plan"]),
                GraphNode(id: "review", dependsOn: ["code", "tests"]),
            ])
            for client in 1...options.clients {
                drivers.append(
                    ClusterTestClient(
                        name: .client(client), base: base, requests: requests,
                        gaps: (0..<requests).map { _ in Double(random.int64(in: 0...Int64(spread * 2000))) / 1000 }, queries: queries, run: run,
                        speedup: speedup, client: http, recorder: recorder))
            }
        }
    }
}

/// One client of the cluster test: sends its requests with idempotency keys at seeded gaps,
/// retries any failure or 503 with the same key, and polls each task until it is final.
struct ClusterTestClient: Sendable {
    let name: Address
    let base: String
    let requests: Int
    /// Gaps before each request, real seconds.
    let gaps: [Double]
    /// The queries, cycled; each is sent with its own idempotency key.
    let queries: [Query]
    let run: String
    /// Real seconds between two polls of a task.
    var poll: Double = ClusterTestClient.pollSecondsDefault
    static let pollSecondsDefault = 0.5
    let speedup: Int64
    let client: HTTPClient
    let recorder: ClientRecorder
    /// Real seconds an HTTP request may take before the client gives up on it and retries.
    let requestTimeout: Int64 = 2

    func drive(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<requests {
                try? await Task.sleep(for: .milliseconds(Int64(gaps[index] * 1000)))
                let requestID = UInt64(index + 1)
                let query = query(requestID: requestID, index: index)
                await recorder.record(name, .submitted(requestID: requestID, query: query))
                group.addTask { await one(requestID: requestID, query: query, deadline: deadline) }
            }
            await recorder.record(name, .allSubmitted)
        }
    }

    /// Request `requestID`'s query: the template's, with its own description and idempotency key.
    private func query(requestID: UInt64, index: Int) -> Query {
        var query = queries[index % queries.count]
        query.taskDescription = "Cluster test request \(requestID) of \(name): \(query.taskDescription)"
        query.requestKey = "\(run)-\(name)-\(requestID)"
        return query
    }

    private func one(requestID: UInt64, query: Query, deadline: ContinuousClock.Instant) async {
        let sent = ShellClock(speedup: speedup)
        guard let data = try? JSONEncoder().encode(query) else { return }
        var task: TaskID?
        while task == nil, ContinuousClock.now < deadline {
            guard let answer = try? await http("POST", "\(base)/query", body: data) else {
                try? await Task.sleep(for: .milliseconds(300))
                continue
            }
            switch answer.status {
            case 200:
                if let id = (answer.json?["task_id"] as? Int).map(TaskID.init) {
                    task = id
                    await recorder.record(name, .acknowledged(requestID: requestID, task: id))
                }
            case 400..<500:
                await recorder.record(name, .rejected(requestID: requestID, reason: answer.json?["err"] as? String ?? "HTTP \(answer.status)"))
                return
            default:
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
        guard let task else { return }
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(Int64(poll * 1000)))
            guard let answer = try? await http("GET", "\(base)/task/status?task_id=\(task)", body: nil), answer.status == 200 || answer.status == 404,
                let status = Self.view(answer.json)
            else { continue }
            await recorder.record(name, .status(task: task, status: status))
            switch status {
            case .completed, .aborted:
                var completed = false
                if case .completed = status { completed = true }
                await recorder.record(name, .finished(task: task, latency: sent.elapsed(), completed: completed))
                return
            default:
                continue
            }
        }
    }

    /// The seed API's status body as the simulator's `TaskStatusView`.
    static func view(_ json: [String: Any]?) -> TaskStatusView? {
        guard let json, let status = json["status"] as? String else { return nil }
        switch status {
        case "pending":
            guard json["phase"] as? String == "running", let epoch = json["epoch"] as? [String: Any],
                let global = (epoch["global"] as? Int).map(Int64.init), let regional = (epoch["regional"] as? Int).map(Int64.init)
            else { return .pending }
            return .running(epoch: Epoch(global: global, regional: regional), saved: json["round"] as? Int ?? 0)
        case "completed": return .completed(result: json["result"] as? String ?? "")
        case "aborted": return .aborted(reason: json["err"] as? String ?? "")
        case "non_exist": return .nonExist
        default: return nil
        }
    }

    func http(_ method: String, _ url: String, body: Data?) async throws -> (status: Int, json: [String: Any]?) {
        let answer = try await GatewayHTTP.call(client, method, url, body: body, timeout: requestTimeout)
        return (answer.status, answer.json)
    }
}
