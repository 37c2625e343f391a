import Core
import Foundation
import SQLiteStore
import Server
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A running `agentos serve` child process.
func startServe(_ arguments: [String]) throws -> ChildServer {
    try ChildServer(["serve"] + arguments, readyMarker: "agentos serving")
}

func freeTestPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// One request; a body goes as JSON unless `headers` says otherwise.
func http(_ method: String, _ url: String, _ body: String? = nil, headers: [String: String] = [:]) async throws -> (Int, [String: Any]) {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    request.httpBody = body.map { Data($0.utf8) }
    if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await URLSession.shared.data(for: request)
    let json = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? ["raw": String(decoding: data, as: UTF8.self)]
    return ((response as! HTTPURLResponse).statusCode, json)
}

/// A counter's value from a `/metrics` text.
func metric(_ text: String, _ name: String) -> Double? {
    text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
}

/// Polls a task until it is final.
func waitFinal(_ base: String, task: Int, seconds: Double = 60) async throws -> [String: Any] {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if let (status, json) = try? await http("GET", "\(base)/task/status?task_id=\(task)"), status == 200,
            let state = json["status"] as? String, state == "completed" || state == "aborted"
        {
            return json
        }
        try await Task.sleep(for: .milliseconds(250))
    }
    return ["status": "timeout"]
}

let query = #"{"task_name":"code_generation","task_description":"write add(a, b)","n_rounds":2,"n_samples":2,"n_voters":2}"#

@Suite("agentos serve and load over loopback", .serialized)
struct ServeTests {
    @Test("one process serves the whole cluster; load completes every task; bad input gets a 4xx and the server keeps serving")
    func singleProcessCluster() async throws {
        let port = freeTestPort()
        let data = CLI.temporaryPath("data")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try startServe(["--port", String(port), "--data-dir", data, "--profile", "perfect"])
        let base = "http://127.0.0.1:\(port)"
        let (ready, readyBody) = try await http("GET", "\(base)/ready")
        #expect(ready == 200 && (readyBody["roles"] as? [String])?.count == 9)

        let load = try CLI.run(["load", "--url", base, "--requests", "6", "--pattern", "send_batch_interval", "--batch", "2", "--interval-min", "0.1", "--interval-max", "0.3", "--poll", "0.3", "--json"])
        #expect(load.status == 0, "\(load.stdout)")
        let report = try JSONSerialization.jsonObject(with: Data(load.stdout.utf8)) as? [String: Any]
        #expect(report?["completed"] as? Int == 6)

        let bad: [(String, String, Int)] = [
            ("POST", "not json", 400), ("POST", #"{"task_name":"code_generation"}"#, 400),
            ("POST", #"{"task_name":"code_generation","task_description":"x","n_rounds":"2","n_samples":1,"n_voters":1}"#, 400),
            ("POST", #"{"task_name":"code_generation","task_description":"x","n_rounds":1,"n_samples":-1,"n_voters":1}"#, 400),
            ("POST", String(repeating: "x", count: 2 << 20), 413),
        ]
        for (method, body, expected) in bad {
            let (status, json) = try await http(method, "\(base)/query", body)
            #expect(status == expected, "\(body.prefix(60))")
            #expect(json["success"] as? Bool == false)
            #expect((json["err"] as? String)?.isEmpty == false)
        }
        #expect(try await http("GET", "\(base)/task/status?task_id=424242").0 == 404)
        for bad in ["-3", "1%20", "%201", "0x1", "01a", "99999999999999999999"] {
            #expect(try await http("GET", "\(base)/task/status?task_id=\(bad)").0 == 400, "task_id=\(bad)")
        }
        // Browsers may send text/plain across sites without asking: the client API takes JSON only.
        let (plain, plainBody) = try await http("POST", "\(base)/query", query, headers: ["Content-Type": "text/plain"])
        #expect(plain == 415 && plainBody["success"] as? Bool == false)
        // Every error is JSON, unknown routes included; one process has no role plane at all.
        let (missing, missingBody) = try await http("GET", "\(base)/no/such/route")
        #expect(missing == 404 && (missingBody["err"] as? String)?.contains("/no/such/route") == true)
        #expect(try await http("POST", "\(base)/v1/core/store", "{}").0 == 404)
        let (wrongMethod, wrongBody) = try await http("DELETE", "\(base)/query")
        #expect(wrongMethod == 405 && (wrongBody["err"] as? String)?.contains("not allowed") == true)
        let (after, body) = try await http("POST", "\(base)/query", query)
        #expect(after == 200 && body["task_id"] != nil, "still serving")

        // Exactly-once submission: a retried key maps to its task; a reused key with another query is refused.
        let keyed = query.replacingOccurrences(of: "}", with: #","request_id":"retry-me-1"}"#)
        let (first, firstBody) = try await http("POST", "\(base)/query", keyed)
        let (again, againBody) = try await http("POST", "\(base)/query", query, headers: ["Idempotency-Key": "retry-me-1"])
        #expect(first == 200 && again == 200)
        #expect(firstBody["task_id"] as? Int != nil && firstBody["task_id"] as? Int == againBody["task_id"] as? Int)
        #expect(firstBody["request_id"] as? String == "retry-me-1")
        let other = keyed.replacingOccurrences(of: "write add(a, b)", with: "write mul(a, b)")
        let (conflict, conflictBody) = try await http("POST", "\(base)/query", other)
        #expect(conflict == 400 && (conflictBody["err"] as? String)?.contains("already used") == true)
        let (differ, _) = try await http("POST", "\(base)/query", keyed, headers: ["Idempotency-Key": "another-key"])
        #expect(differ == 400)
        let (badKey, _) = try await http("POST", "\(base)/query", query, headers: ["Idempotency-Key": "has space"])
        #expect(badKey == 400)

        // A pending status carries the seed's term and round.
        let (_, status) = try await http("GET", "\(base)/task/status?task_id=\(try #require(firstBody["task_id"] as? Int))")
        if status["status"] as? String == "pending" {
            #expect(status["term"] as? Int != nil && status["round"] as? Int != nil, "\(status)")
        }
        let metrics = try await http("GET", "\(base)/metrics").1["raw"] as? String ?? ""
        // 8 tasks; the keyed retry is a ninth acknowledgement (of the same task).
        #expect(metric(metrics, "agentos_queries_accepted_total") == 9)
        #expect((metric(metrics, "agentos_task_latency_seconds_count") ?? 0) >= 6)
        for name in ["agentos_llm_latency_seconds_count", "agentos_llm_queue_depth{proxy=\"proxy-1-1\"}"] {
            #expect(metrics.contains(name), "\(name) missing from /metrics")
        }
        _ = server
    }

    @Test("the proxies call an external OpenAI-compatible URL, with the key from the environment")
    func externalLLMURL() async throws {
        let (llmPort, port) = (freeTestPort(), freeTestPort())
        let data = CLI.temporaryPath("ext-data")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let llm = try FakeLLMServer(["--profile", "perfect"])
        let layoutRoles = "store,gateway,region-1,region-2,proxy-1-1,proxy-1-2,proxy-2-1,proxy-2-2"
        setenv("AGENTOS_TEST_KEY", "sk-test-secret", 1)
        let server = try startServe([
            "--port", String(port), "--data-dir", data, "--roles", layoutRoles,
            "--llm-url", "http://127.0.0.1:\(llm.port)/v1/chat/completions", "--llm-key-env", "AGENTOS_TEST_KEY",
        ])
        _ = llmPort
        let base = "http://127.0.0.1:\(port)"
        let (status, body) = try await http("POST", "\(base)/query", query)
        #expect(status == 200)
        let final = try await waitFinal(base, task: try #require(body["task_id"] as? Int))
        #expect(final["status"] as? String == "completed", "\(final)")
        #expect((final["result"] as? String)?.hasPrefix("[digest 0x") == true, "answered by the external fake LLM")
        _ = server
    }

    @Test("several --llm-url endpoints: the one proxy starts at llm-1, which is down, falls back to llm-2, and every task completes; a cluster that disagrees is refused")
    func severalLLMEndpoints() async throws {
        let port = freeTestPort()
        let data = CLI.temporaryPath("multi-llm-data")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let second = try FakeLLMServer(["--profile", "perfect"])
        // Nothing listens on the first endpoint's port.
        let urls = ["--llm-url", "http://127.0.0.1:\(freeTestPort())/v1/chat/completions", "--llm-url", "http://127.0.0.1:\(second.port)/v1/chat/completions"]
        let server = try startServe(["--port", String(port), "--data-dir", data, "--regions", "1", "--proxies", "1", "--roles", "store,gateway,region-1,proxy-1-1"] + urls)
        let base = "http://127.0.0.1:\(port)"
        var tasks: [Int] = []
        for _ in 0..<4 {
            let (status, body) = try await http("POST", "\(base)/query", query)
            #expect(status == 200)
            tasks.append(try #require(body["task_id"] as? Int))
        }
        for task in tasks {
            let final = try await waitFinal(base, task: task)
            #expect(final["status"] as? String == "completed", "\(final)")
        }
        let (_, metrics) = try await http("GET", "\(base)/metrics")
        let text = metrics["raw"] as? String ?? ""
        for endpoint in ["llm-1", "llm-2"] {
            let calls = metric(text, "agentos_llm_endpoint_calls_total{endpoint=\"\(endpoint)\"}") ?? 0
            #expect(calls > 0, "no call was made to \(endpoint): \(text.split(separator: "\n").filter { $0.contains("endpoint_calls") })")
        }
        _ = server

        // A cluster file that says one endpoint, with two URLs given: refused, naming both counts.
        let cluster = CLI.temporaryPath("one-llm.json")
        try #"{"regions": 1, "proxiesPerRegion": 1, "urls": {"store": "http://127.0.0.1:1", "gateway": "http://127.0.0.1:1", "region-1": "http://127.0.0.1:1", "proxy-1-1": "http://127.0.0.1:1"}}"#
            .write(toFile: cluster, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: cluster) }
        let secret = CLI.temporaryPath("secret")
        try "0123456789abcdef0123456789abcdef".write(toFile: secret, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secret) }
        let refused = try CLI.run(["serve", "--cluster", cluster, "--roles", "proxy-1-1", "--port", "0", "--data-dir", data, "--role-secret-file", secret] + urls)
        #expect(refused.status != 0 && refused.stderr.contains("1 LLM endpoint(s) but 2 URL(s)"), "\(refused.stderr)")
        let bad = try CLI.run(["serve", "--llm-url", "ftp://x"])
        #expect(bad.status == 2 && bad.stderr.contains("--llm-url must be an http(s) URL"), "\(bad.stderr)")
    }

    @Test("roles split over processes: a SIGKILLed proxy process loses no acknowledged task; a restarted gateway still answers; the store rejects a stale owner")
    func multiProcessFailover() async throws {
        let (portA, portB, portC) = (freeTestPort(), freeTestPort(), freeTestPort())
        let (planeA, planeB, planeC) = (freeTestPort(), freeTestPort(), freeTestPort())
        let data = CLI.temporaryPath("cluster-data")
        let clusterFile = CLI.temporaryPath("cluster.json")
        let llmFile = CLI.temporaryPath("llm.json")
        let secretFile = CLI.temporaryPath("secret")
        defer { for path in [data, clusterFile, llmFile, secretFile] { try? FileManager.default.removeItem(atPath: path) } }
        let secret = "test-secret-\(UInt64.random(in: 0...UInt64.max))"
        try secret.write(toFile: secretFile, atomically: true, encoding: .utf8)
        let a = "http://127.0.0.1:\(portA)"
        let ra = "http://127.0.0.1:\(planeA)", rb = "http://127.0.0.1:\(planeB)", rc = "http://127.0.0.1:\(planeC)"
        let urls = [
            "store": ra, "gateway": ra, "region-1": ra, "region-2": ra, "fake-llm": a, "proxy-1-1": rb, "proxy-2-1": rb, "proxy-1-2": rc, "proxy-2-2": rc,
        ]
        let cluster: [String: Any] = ["regions": 2, "proxiesPerRegion": 2, "urls": urls, "scheduling": "fifo", "balancing": "least_loaded", "voting": "naive"]
        try JSONSerialization.data(withJSONObject: cluster).write(to: URL(fileURLWithPath: clusterFile))
        // Calls of 300-600 ms: a task of 2 rounds takes a few seconds, long enough to kill mid-run.
        try #"{"profile": "perfect", "latency": {"firstTokenNanos": {"min": 300000000, "max": 600000000}}}"#.write(toFile: llmFile, atomically: true, encoding: .utf8)
        let common = ["--cluster", clusterFile, "--data-dir", data, "--llm-config", llmFile]
        // Without the secret a split cluster refuses to start.
        let unsigned = try CLI.run(["serve", "--port", String(portA)] + common + ["--roles", "store,gateway,region-1,region-2,fake-llm"])
        #expect(unsigned.status != 0 && unsigned.stderr.contains("secret"), "\(unsigned.stderr)")
        let signed = common + ["--role-secret-file", secretFile]
        var processA: ChildServer? = try startServe(signed + ["--port", String(portA), "--roles", "store,gateway,region-1,region-2,fake-llm"])
        let processB = try startServe(signed + ["--port", String(portB), "--roles", "proxy-1-1,proxy-2-1"])
        let processC = try startServe(signed + ["--port", String(portC), "--roles", "proxy-1-2,proxy-2-2"])
        try await Task.sleep(for: .seconds(2))  // membership forms

        // Three-node chains, so a task moved mid-run has saved nodes to resume from.
        let chain = #"{"task_name":"code_generation","task_description":"write add(a, b)","n_rounds":1,"n_samples":2,"n_voters":2,"graph":{"nodes":[{"id":"a"},{"id":"b","depends_on":["a"]},{"id":"c","depends_on":["b"]}]}}"#
        var tasks: [Int] = []
        for _ in 0..<6 {
            let (status, body) = try await http("POST", "\(a)/query", chain)
            #expect(status == 200)
            if let task = body["task_id"] as? Int { tasks.append(task) }
        }
        #expect(tasks.count == 6)
        func ownsRunningTask(_ proxies: Set<String>) throws -> Bool {
            let store = try TaskStore(path: (data as NSString).appendingPathComponent("agentos.sqlite"))
            return try store.allTasks().contains { task in
                task.status == .running && proxies.contains(String(task.ownerProxy.prefix { $0 != "#" }))
            }
        }
        // Kill once the store has taken the 12 claims (two per task) and at least 4 node results,
        // so some of the killed proxies' tasks have progress to resume from, whatever the speed.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let metrics = try await http("GET", "\(a)/metrics").1["raw"] as? String ?? ""
            let applied = metrics.split(separator: "\n").first { $0.hasPrefix("agentos_store_writes_applied_total ") }
                .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            // On a busy machine process B's proxies may join late and own nothing yet: wait
            // until one of them owns a running task, so the kill has something to move.
            if applied >= 16, (try? ownsRunningTask(["proxy-1-1", "proxy-2-1"])) == true { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Whether the kill hits a running task: on a starved machine the wait may end first.
        let killHitsATask = (try? ownsRunningTask(["proxy-1-1", "proxy-2-1"])) == true
        processB.kill()  // a real SIGKILL, mid-run

        for task in tasks {
            let final = try await waitFinal(a, task: task, seconds: 60)
            #expect(final["status"] as? String == "completed", "task \(task): \(final)")
        }

        // Restart the gateway's process (and the store with it): every earlier task still answers.
        processA = nil
        processA = try startServe(signed + ["--port", String(portA), "--roles", "store,gateway,region-1,region-2,fake-llm"])
        for task in tasks {
            let (status, body) = try await http("GET", "\(a)/task/status?task_id=\(task)")
            #expect(status == 200 && body["status"] as? String == "completed", "task \(task) after restart: \(body)")
        }

        // A forged finish without the secret (or with a wrong one): 401, and the task is untouched.
        let forged = #"[{"to":"store","from":"proxy-1-1","message":{"storeRequest":{"requestID":7,"_1":{"finish":{"_0":\#(tasks[1]),"epoch":{"global":1,"regional":1},"outcome":{"completed":{"result":"attacker"}}}}}}}]"#
        #expect(try await http("POST", "\(ra)/v1/core/messages", forged).0 == 401)
        let digest = try JSONDecoder().decode(ClusterLayout.self, from: Data(contentsOf: URL(fileURLWithPath: clusterFile))).digest
        let wrong = try RolePlaneAuth(secret: "not-the-cluster-secret-at-all")
        #expect(try await http("POST", "\(ra)/v1/core/messages", forged, headers: [RolePlaneAuth.header: wrong.signature(for: Data(forged.utf8)), "X-AgentOS-Cluster": digest]).0 == 401)
        #expect(try await http("POST", "\(a)/v1/core/messages", forged).0 == 404, "the public port has no role plane")
        // Nothing heavy before authentication: a body over the role plane's 4 MiB bound is refused
        // for its declared length, signed or not, and an unsigned one for its missing signature.
        let huge = String(repeating: " ", count: 5 << 20)
        #expect(try await http("POST", "\(ra)/v1/core/messages", huge).0 == 401)
        #expect(try await http("POST", "\(ra)/v1/core/messages", huge, headers: [RolePlaneAuth.header: wrong.signature(for: Data(huge.utf8)), "X-AgentOS-Cluster": digest]).0 == 413)

        // A stale owner's write, signed, straight to the store: rejected, and counted.
        let stale = #"[{"to":"store","from":"proxy-9-9","message":{"storeRequest":{"requestID":1,"_1":{"saveProgress":{"_0":\#(tasks[0]),"node":"main","epoch":{"global":0,"regional":0},"result":"zombie","inputDigest":"x"}}}}}]"#
        let auth = try RolePlaneAuth(secret: secret)
        #expect(try await http("POST", "\(ra)/v1/core/messages", stale, headers: [RolePlaneAuth.header: auth.signature(for: Data(stale.utf8)), "X-AgentOS-Cluster": digest]).0 == 202)
        // The same signed request from a process on another cluster file: 409, whatever its signature.
        #expect(try await http("POST", "\(ra)/v1/core/messages", stale, headers: [RolePlaneAuth.header: auth.signature(for: Data(stale.utf8)), "X-AgentOS-Cluster": "0000000000000000"]).0 == 409)
        try await Task.sleep(for: .milliseconds(300))
        let metrics = try await http("GET", "\(a)/metrics").1["raw"] as? String ?? ""
        let rejected = metrics.split(separator: "\n").first { $0.hasPrefix("agentos_store_writes_rejected_stale_total ") }
        #expect(rejected.map { !$0.hasSuffix(" 0") } == true, "\(rejected ?? "missing")")
        let (_, final) = try await http("GET", "\(a)/task/status?task_id=\(tasks[0])")
        #expect((final["result"] as? String)?.contains("zombie") == false)
        let (_, untouched) = try await http("GET", "\(a)/task/status?task_id=\(tasks[1])")
        #expect(untouched["result"] as? String != "attacker")
        #expect(metric(metrics, "agentos_role_plane_refused_total") == 4)

        // After a clean stop, the database shows the failover: tasks the killed proxies owned
        // were claimed again, and a moved task kept the nodes its first owner had saved.
        processA = nil
        _ = processC
        let store = try TaskStore(path: (data as NSString).appendingPathComponent("agentos.sqlite"))
        let moved = try store.allTasks().filter { $0.epoch.regional >= 2 }
        if killHitsATask {
            #expect(!moved.isEmpty, "the SIGKILL hit no running task")
            let resumed = try moved.contains { task in Set(try store.getProgressList(task.taskID).map(\.epoch)).count >= 2 }
            #expect(resumed, "no moved task resumed from progress saved by its first owner")
        } else {
            print("multiProcessFailover: the 30 s wait ended before process B owned a running task; failover not exercised this time")
        }
        #expect(try store.allTasks().allSatisfy { $0.status == .completed })
    }
}
