import Checks
import AsyncHTTPClient
import Core
import Foundation
import NIOCore
import Scenarios
import Server
import Sim

/// What the cluster test's clients saw, in the simulator's own vocabulary
/// (`ClientObservation`), with wall-clock times.
actor ClientRecorder {
    struct Entry {
        let time: Int64
        let node: String
        let observation: ClientObservation
    }

    private(set) var entries: [Entry] = []
    private(set) var open = 0
    private(set) var acknowledged = 0
    private(set) var finished = 0
    /// Clients that have sent every request.
    private(set) var clientsDone = 0

    func record(_ node: String, _ observation: ClientObservation) {
        entries.append(Entry(time: HistoryLine.now(), node: node, observation: observation))
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

/// One client of the cluster test: sends its requests with idempotency keys at seeded gaps,
/// retries any failure or 503 with the same key, and polls each task until it is final.
struct ClusterTestClient: Sendable {
    let name: String
    let base: String
    let requests: Int
    /// Gaps before each request, real seconds.
    let gaps: [Double]
    /// The queries, cycled; each is sent with its own idempotency key.
    let queries: [Query]
    let run: String
    /// Real seconds between two polls of a task.
    var poll: Double = 0.5
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
        let started = ContinuousClock.now
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
                let elapsed = ContinuousClock.now - started
                let nanos = (elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000) * speedup
                var completed = false
                if case .completed = status { completed = true }
                await recorder.record(name, .finished(task: task, latency: nanos, completed: completed))
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
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(requestTimeout))
        let data = Data(buffer: try await response.body.collect(upTo: 8 << 20))
        return (Int(response.status.code), try? JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

/// Turns the histories of a real run into the checkers' events, in cluster time.
struct ClusterHistory {
    enum Item {
        case observation(node: String, WorldObservation)
        case message(MessageEvent.Fact)
    }

    var events: [(time: Int64, item: Item)] = []
    /// Traced message facts among the events.
    private(set) var messages = 0

    /// A history file's lines. A process killed mid-write can leave a torn last line, which is
    /// skipped; anything else that does not decode is an error.
    static func lines<Line: Decodable>(_ path: String, as _: Line.Type) throws -> [Line] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        let lines = text.split(separator: "\n")
        var decoded: [Line] = []
        for (number, line) in lines.enumerated() {
            guard let value = try? decoder.decode(Line.self, from: Data(line.utf8)) else {
                if number == lines.count - 1 { continue }
                throw CLIError("\(path):\(number + 1): not a history line")
            }
            decoded.append(value)
        }
        return decoded
    }

    /// A role process's history: its roles' observations (`HistoryLine`) and its traced message
    /// traffic (`TrafficLine`), told apart by their fields in one decode per line.
    mutating func add(file path: String) throws {
        struct Line: Decodable {
            var time: Int64
            var node: String?
            var observation: CoreObservation?
            var traffic: TrafficLine.Fact?
        }
        for line in try Self.lines(path, as: Line.self) {
            if let node = line.node, let observation = line.observation {
                events.append((line.time, .observation(node: node, .core(observation))))
            } else if let traffic = line.traffic {
                messages += 1
                events.append((line.time, .message(Self.fact(traffic))))
            } else {
                throw CLIError("\(path): a history line with neither an observation nor traffic")
            }
        }
    }

    static func fact(_ traffic: TrafficLine.Fact) -> MessageEvent.Fact {
        switch traffic {
        case .sent(let id, let from, let to, let message): .sent(id: id, from: from, to: to, message)
        case .delivered(let id, let to): .delivered(id: id, to: to)
        case .dropped(let id): .dropped(id: id)
        case .started(let node, let incarnation): .started(node: node, incarnation: incarnation)
        }
    }

    /// The fake LLM's call log, as the simulator's LLM call records.
    mutating func add(calls path: String) throws {
        events += try Self.lines(path, as: LLMCallLine.self).map { call in
            let record = LLMCallRecord(task: call.task, node: call.node, prompt: call.prompt, answer: call.answer, status: call.status, fault: nil)
            return (call.time, .observation(node: "fake-llm", .llm(record)))
        }
    }

    mutating func add(_ entries: [ClientRecorder.Entry]) {
        events += entries.map { ($0.time, .observation(node: $0.node, .client($0.observation))) }
    }

    /// Feeds the checkers in time order; times become cluster nanoseconds since `start`.
    func check(_ suite: inout CheckerSuite, start: Int64, speedup: Int64) {
        let ordered = events.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }
        for (index, entry) in ordered.enumerated() {
            let time = SimInstant(nanoseconds: max(0, entry.element.time - start) * speedup)
            switch entry.element.item {
            case .observation(let node, let observation):
                suite.observe(ObservedEvent(index: UInt64(index), time: time, node: node, observation: observation))
            case .message(let fact):
                suite.observeMessage(MessageEvent(index: UInt64(index), time: time, fact: fact))
            }
        }
    }
}
