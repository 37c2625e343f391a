import Checks
import ClusterTest
import Core
import FakeLLM
import Foundation
import Hummingbird
import Logging
import SQLiteStore
import Server
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The real shell in this process: `ServeHost` runs every role in its mailbox, the transport
/// between them, the client API and the fake LLM on a loopback port, exactly as `agentos serve`
/// does, but without a child process to start and sleep on. What the roles recorded is judged by
/// the same checkers as every simulated run.
@Suite("the real shell in process, judged by Checks")
struct InProcessShellTests {
    /// Real speed: with the perfect fake LLM a run takes about a second, and the roles' and the
    /// LLM client's timeouts keep their real lengths, so a process busy with the rest of the
    /// suite (whose tests share it) cannot starve a call past its timeout.
    static let speedup: Int64 = 1

    /// One serve process's worth of roles, in a task of this process; stopped by cancelling it.
    final class Shell: @unchecked Sendable {  // set once, before any reader
        let folder: String
        var task: Task<Void, Error>?
        var port = 0
        /// When it started, in the history's clock.
        let start = HistoryLine.now()

        init(speedup: Int64, middleware: [any MiddlewareProtocol<Request, Response, BasicRequestContext>] = []) async throws {
            folder = NSTemporaryDirectory() + "agentos-inprocess-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            // The layout names the process's own URL (the proxies reach the fake LLM by it), so
            // the port is chosen first, as `serve` does.
            let chosen = try freePort(host: "127.0.0.1")
            let layout = ClusterLayout.singleProcess(ClusterSpec.serveDefault, url: "http://127.0.0.1:\(chosen)")
            var options = ServeOptions(
                host: "127.0.0.1", port: chosen, layout: layout, roles: layout.roleNames + ["fake-llm"], dataDirectory: folder + "/data", llmURLs: [],
                llmModel: "fake", llmKey: nil, fakeLLM: FakeLLMProfile.perfect.config, fakeLLMSeed: 1, speedup: speedup)
            options.historyPath = folder + "/history.jsonl"
            options.publicMiddleware = middleware
            let ready = AsyncStream<Int>.makeStream()
            task = Task {
                try await ServeHost.run(options, logger: Logger(label: "in-process")) { serving in ready.continuation.yield(serving.port) }
            }
            for await bound in ready.stream {
                port = bound
                break
            }
        }

        func stop() async {
            task?.cancel()
            _ = await task?.result
        }
    }

    static func http(_ method: String, _ url: String, _ body: String? = nil) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }

    /// Five queries, the third sent twice under its key, each polled until completed; then the
    /// roles' history, the fake LLM's calls, what the client saw and the store, judged.
    static func judgedRun(plantedBug: PlantedBug? = nil) async throws -> (suite: CheckerSuite, history: ClusterHistory, tasks: Int) {
        let shell = try await Shell(speedup: Self.speedup, middleware: plantedBug.map { [$0.middleware] } ?? [])
        defer { try? FileManager.default.removeItem(atPath: shell.folder) }
        let base = "http://127.0.0.1:\(shell.port)"
        // What the test's one client saw, recorded as a cluster test's clients record it.
        var seen: [(Int64, ClientObservation)] = []
        func saw(_ observation: ClientObservation) { seen.append((HistoryLine.now(), observation)) }
        var tasks: [Int] = []
        for index in 1...5 {
            let body = #"{"task_name":"code_generation","task_description":"Write function \#(index).","n_rounds":2,"n_samples":3,"n_voters":3,"request_id":"in-process-\#(index)"}"#
            saw(.submitted(requestID: UInt64(index)))
            let (status, answer) = try await Self.http("POST", "\(base)/query", body)
            #expect(status == 200, "\(answer)")
            tasks.append(try #require(answer["task_id"] as? Int))
            saw(.acknowledged(requestID: UInt64(index), task: TaskID(tasks.last!)))
            if index == 3 {
                let (again, repeated) = try await Self.http("POST", "\(base)/query", body)
                #expect(again == 200, "\(repeated)")
                if let task = repeated["task_id"] as? Int { saw(.acknowledged(requestID: UInt64(index), task: TaskID(task))) }
            }
        }
        saw(.allSubmitted)
        let started = HistoryLine.now()
        let deadline = Date().addingTimeInterval(180)
        var open = Set(tasks)
        while !open.isEmpty, Date() < deadline {
            for task in open {
                let (_, status) = try await Self.http("GET", "\(base)/task/status?task_id=\(task)")
                if status["status"] as? String == "completed" {
                    open.remove(task)
                    saw(.status(task: TaskID(task), status: .completed(result: status["result"] as? String ?? "")))
                    saw(.finished(task: TaskID(task), latency: .nanoseconds((HistoryLine.now() - started) * Self.speedup), completed: true))
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(open.isEmpty, "tasks not completed in time: \(open.sorted())")
        await shell.stop()

        var history = ClusterHistory()
        try history.add(file: shell.folder + "/history.jsonl")
        try history.add(calls: shell.folder + "/history-llm.jsonl")
        for (time, observation) in seen { history.add(client: "client-1", observation, at: time) }
        var suite = CheckerSuite(context: CheckContext(clients: ["client-1"]))
        history.check(&suite, start: shell.start, speedup: Self.speedup)
        let store = try TaskStore(path: shell.folder + "/data/agentos.sqlite")
        suite.audit(try StoreSnapshot(store: store), end: Instant(nanoseconds: (HistoryLine.now() - shell.start) * Self.speedup), includeLiveness: true)
        return (suite, history, try store.allTasks().count)
    }

    @Test("queries through the client API complete, a re-sent key maps to its task, and every checker passes the roles' history and the store")
    func historyPassesTheCheckers() async throws {
        let (suite, history, tasks) = try await Self.judgedRun()
        #expect(suite.violations.isEmpty, "\(suite.violations.map(\.description))")
        #expect(tasks == 5, "one task per key")
        let verdicts = Dictionary(uniqueKeysWithValues: suite.verdicts.map { ($0.invariant, $0) })
        #expect(verdicts[Invariant.epochMonotonicity.rawValue]?.evidence.hasPrefix("5 task(s)") == true, "\(verdicts[1]?.evidence ?? "-")")
        #expect(history.messages > 0, "the transport recorded the roles' message traffic")
    }

    @Test("a client API that drops idempotency keys (the planted real-shell bug) makes the re-sent query a second task, and exactly-once says so")
    func plantedBugIsCaught() async throws {
        let (suite, _, tasks) = try await Self.judgedRun(plantedBug: .ignoreRequestID)
        #expect(tasks == 6, "the re-sent query became a task of its own")
        #expect(suite.violations.contains { $0.invariant == .exactlyOnce }, "\(suite.violations.map(\.description))")
    }
}
