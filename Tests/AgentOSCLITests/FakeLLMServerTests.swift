import FakeLLM
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A running `agentos fake-llm` child process on a free loopback port.
final class FakeLLMServer: @unchecked Sendable {  // immutable after init
    let child: ChildServer
    let port: Int

    init(_ arguments: [String]) throws {
        child = try ChildServer(["fake-llm", "--port", "0"] + arguments, readyMarker: "listening on")
        guard let line = child.banner.split(separator: "\n").first(where: { $0.contains("listening on") }),
            let port = Int(line.split(separator: ":").last ?? "")
        else { throw CLIError("fake-llm did not report its port: \(child.banner)") }
        self.port = port
    }

    func request(_ method: String, _ path: String, body: Data? = nil) async throws -> (Int, [String: String], Data) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        return (http.statusCode, headers, data)
    }

    func chat(_ json: String) async throws -> (Int, [String: String], Data) {
        try await request("POST", "/v1/chat/completions", body: Data(json.utf8))
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("agentos fake-llm over loopback HTTP", .serialized)
struct FakeLLMServerTests {
    @Test("it answers OpenAI-style chat completions and lists its model")
    func servesChatCompletions() async throws {
        let server = try FakeLLMServer(["--profile", "perfect"])
        let (status, _, models) = try await server.request("GET", "/v1/models")
        #expect(status == 200)
        #expect(String(decoding: models, as: UTF8.self).contains("\"id\":\"fake-perfect\""))

        let prompt = "Task: add two numbers. Answer with PLAN: and OUTPUT:."
        let (chatStatus, _, body) = try await server.chat(
            #"{"model":"fake-perfect","messages":[{"role":"user","content":"\#(prompt)"}],"temperature":0.7,"max_tokens":2000}"#)
        #expect(chatStatus == 200)
        let response = try JSONDecoder().decode(ChatResponse.self, from: body)
        #expect(response.object == "chat.completion")
        #expect(response.content.hasPrefix("PLAN: "))
        #expect(PromptDigest.embedded(in: response.content) == PromptDigest.of("user: \(prompt)"))
        #expect(response.created > 1_700_000_000, "created is a Unix timestamp when served for real")
    }

    @Test("the batching profile serves concurrent calls over HTTP, and calls that share the batch take longer: eight at once take about eight times as long")
    func batchingOverHTTP() async throws {
        // 800 tokens at 10 ms: about 8 virtual seconds alone, 0.4 s real at x20. At 1000 per mille,
        // eight calls in one batch each run at an eighth of that speed: about 3.2 s real, where
        // independent slots would take 0.4 s. Only lower bounds on wall time are asserted: a
        // loaded machine can make calls slower, never faster.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("batching-\(UUID().uuidString).json").path
        try #"{"profile": "vllm-llama-8b", "batching": {"slowdownPerMille": 1000}, "latency": {"generationTokens": {"min": 800, "max": 800}}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let server = try FakeLLMServer(["--config", path, "--speedup", "20"])
        let body = #"{"model":"m","messages":[{"role":"user","content":"Task: add two numbers. Answer with PLAN: and OUTPUT:."}]}"#
        let lone = ContinuousClock.now
        #expect(try await server.chat(body).0 == 200)
        #expect(ContinuousClock.now - lone >= .milliseconds(380), "a lone call takes its full service time")
        let shared = ContinuousClock.now
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 { group.addTask { try await server.chat(body).0 } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let sharedTime = ContinuousClock.now - shared
        #expect(statuses == Array(repeating: 200, count: 8))
        #expect(sharedTime >= .milliseconds(2_400), "eight calls in one batch slow each other down: \(sharedTime)")
    }

    @Test("malformed requests get a 400 with an OpenAI error body, and the server keeps serving")
    func malformedRequestsGet400() async throws {
        let server = try FakeLLMServer(["--profile", "perfect"])
        let bad = [
            "not json",
            #"{"model":"m"}"#,
            #"{"model":"m","messages":"hi"}"#,
            #"{"model":"m","messages":[]}"#,
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-3}"#,
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":5}"#,
        ]
        for json in bad {
            let (status, headers, body) = try await server.chat(json)
            #expect(status == 400, "\(json)")
            #expect(headers["content-type"] == "application/json")
            let envelope = try JSONDecoder().decode(ErrorEnvelope.self, from: body)
            #expect(envelope.error.type == "invalid_request_error")
            #expect(!envelope.error.message.isEmpty)
        }
        let huge = #"{"model":"m","messages":[{"role":"user","content":""# + String(repeating: "x", count: 2 << 20) + #""}]}"#
        let (hugeStatus, _, _) = try await server.chat(huge)
        #expect(hugeStatus == 413)
        let (after, _, _) = try await server.chat(#"{"model":"m","messages":[{"role":"user","content":"still there?"}]}"#)
        #expect(after == 200)
    }

    @Test("a full queue answers 503 with Retry-After, and an idle connection is cut after --header-timeout")
    func overloadAnswers503AndIdleIsCut() async throws {
        let path = CLI.temporaryPath("llm.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // One slot, one place in the queue, calls of 2 s: the third call at once finds it full.
        try #"{"profile": "perfect", "capacity": {"concurrency": 1, "queueLimit": 1}, "latency": {"firstTokenNanos": {"min": 2000000000, "max": 2000000000}}}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let server = try FakeLLMServer(["--config", path, "--header-timeout", "1"])
        let json = #"{"model":"m","messages":[{"role":"user","content":"hello"}]}"#
        let answers = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for _ in 0..<3 { group.addTask { let (status, headers, _) = try await server.chat(json); return (status, headers["retry-after"]) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.map(\.0).sorted() == [200, 200, 503], "\(answers)")
        #expect(answers.first { $0.0 == 503 }?.1 == "1", "\(answers)")
        let idle = openTCP(port: server.port)
        defer { if idle >= 0 { close(idle) } }
        #expect(idle >= 0)
        try await Task.sleep(for: .milliseconds(2500))
        #expect(closedByPeer(idle, milliseconds: 0), "a connection that sent nothing is closed after the header timeout")
    }

    @Test("a spent tokens-per-minute budget answers 429 with Retry-After")
    func rateLimitedAnswers429() async throws {
        let path = CLI.temporaryPath("llm.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try #"{"profile": "perfect", "capacity": {"tokensPerMinute": 2500}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        let server = try FakeLLMServer(["--config", path])
        let json = #"{"model":"m","messages":[{"role":"user","content":"hello"}],"max_tokens":1000}"#
        var statuses: [Int] = []
        var retryAfter: String?
        for _ in 0..<4 {
            let (status, headers, _) = try await server.chat(json)
            statuses.append(status)
            if status == 429 { retryAfter = headers["retry-after"] }
        }
        #expect(statuses == [200, 200, 429, 429])
        let seconds = try #require(retryAfter.flatMap { Int($0) })
        #expect((1...60).contains(seconds))
    }

    @Test("OpenAI clients get what they ask for: n choices, max_completion_tokens, list-of-parts and tool-call messages, a model by id, JSON 404s")
    func openAICompatibility() async throws {
        let server = try FakeLLMServer(["--profile", "perfect"])
        let (status, _, body) = try await server.chat(
            #"{"model":"fake-perfect","n":3,"max_completion_tokens":5,"messages":[{"role":"system","content":[{"type":"text","text":"Be brief."}]},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"},{"role":"user","content":[{"type":"text","text":"Say hi."},{"type":"text","text":"Then stop."}]}]}"#)
        #expect(status == 200, "\(String(decoding: body, as: UTF8.self))")
        let response = try JSONDecoder().decode(ChatResponse.self, from: body)
        #expect(response.choices.map(\.index) == [0, 1, 2])
        #expect(response.choices.allSatisfy { $0.finishReason == "length" }, "5 tokens cannot hold a whole answer")
        #expect(response.usage.completionTokens <= 15)

        let (userNull, _, _) = try await server.chat(#"{"model":"m","messages":[{"role":"user","content":null}]}"#)
        #expect(userNull == 400, "null content only for assistant tool calls")
        let (tooMany, _, _) = try await server.chat(#"{"model":"m","n":99,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(tooMany == 400)

        let (model, _, card) = try await server.request("GET", "/v1/models/fake-perfect")
        #expect(model == 200 && String(decoding: card, as: UTF8.self).contains("\"id\":\"fake-perfect\""))
        let (missing, headers, error) = try await server.request("GET", "/v1/models/gpt-9")
        #expect(missing == 404 && headers["content-type"] == "application/json")
        #expect(try JSONDecoder().decode(ErrorEnvelope.self, from: error).error.code == "model_not_found")
        let (unknown, _, route) = try await server.request("GET", "/v1/nothing-here")
        #expect(unknown == 404)
        #expect(try JSONDecoder().decode(ErrorEnvelope.self, from: route).error.message.contains("/v1/nothing-here"))
    }

    @Test("stream=true answers server-sent chat.completion.chunk events that add up to the answer, then [DONE]")
    func streamsChunks() async throws {
        // Two servers with the same seed: the first call of each draws the same answer.
        let server = try FakeLLMServer(["--profile", "perfect", "--seed", "5"])
        let twin = try FakeLLMServer(["--profile", "perfect", "--seed", "5"])
        let request = #"{"model":"m","messages":[{"role":"user","content":"Write PLAN: and OUTPUT: for a sum."}]}"#
        let (_, _, plain) = try await twin.chat(request)
        let whole = try JSONDecoder().decode(ChatResponse.self, from: plain).content
        let (status, headers, body) = try await server.chat(request.replacingOccurrences(of: #""model":"m","#, with: #""model":"m","stream":true,"#))
        #expect(status == 200)
        #expect(headers["content-type"] == "text/event-stream")
        let events = String(decoding: body, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(events.last == "data: [DONE]")
        var text = ""
        var finish: String?
        for event in events.dropLast() {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8)) as? [String: Any])
            #expect(json["object"] as? String == "chat.completion.chunk")
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            text += ((choice["delta"] as? [String: Any])?["content"] as? String) ?? ""
            if let reason = choice["finish_reason"] as? String { finish = reason }
        }
        #expect(events.count >= 4, "a role chunk, content chunks, a finish chunk")
        #expect(text == whole, "the same seed and prompt give the same answer, streamed or not")
        #expect(finish == "stop")

        // stream_options.include_usage: one more chunk, with no choices and the usage, before [DONE].
        let withUsage = request.replacingOccurrences(of: #""model":"m","#, with: #""model":"m","stream":true,"stream_options":{"include_usage":true},"#)
        let (_, _, usageBody) = try await server.chat(withUsage)
        let usageEvents = String(decoding: usageBody, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(usageEvents.last == "data: [DONE]")
        let last = try #require(try JSONSerialization.jsonObject(with: Data(usageEvents.dropLast().last!.dropFirst(6).utf8)) as? [String: Any])
        #expect((last["choices"] as? [Any])?.isEmpty == true, "\(last)")
        let usage = try #require(last["usage"] as? [String: Any], "\(last)")
        #expect((usage["completion_tokens"] as? Int ?? 0) > 0 && usage["total_tokens"] != nil)
        #expect(!events.contains { $0.contains("\"usage\"") }, "no usage chunk unless asked for")
    }

    @Test("the official OpenAI Python SDK works against it: create, n, stream, models.retrieve (skipped without the SDK)")
    func officialPythonSDK() async throws {
        guard pythonHas("openai") else {
            print("skipped: python3 with the openai package is not available (pip install openai)")
            return
        }
        let server = try FakeLLMServer(["--profile", "perfect"])
        let script = """
            from openai import OpenAI
            client = OpenAI(base_url="http://127.0.0.1:\(server.port)/v1", api_key="unused", max_retries=0)
            r = client.chat.completions.create(model="fake-perfect", n=2, max_completion_tokens=400,
                messages=[{"role": "user", "content": [{"type": "text", "text": "Answer with PLAN: and OUTPUT:."}]}])
            assert len(r.choices) == 2 and r.choices[0].message.content.startswith("PLAN:"), r
            chunks = list(client.chat.completions.create(model="fake-perfect", stream=True,
                messages=[{"role": "user", "content": "Answer with PLAN: and OUTPUT:."}]))
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            assert len(chunks) >= 3 and text.startswith("PLAN:"), chunks
            assert client.models.retrieve("fake-perfect").id == "fake-perfect"
            print("sdk ok", len(chunks))
            """
        let result = try runPython(script)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("sdk ok"))
    }

    @Test("bad flags are refused before the server starts")
    func badFlags() throws {
        let unknown = try CLI.run(["fake-llm", "--profile", "turbo"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown profile 'turbo'"))
        let port = try CLI.run(["fake-llm", "--port", "70000"])
        #expect(port.status == 2)
    }
}

/// Whether `python3` can import every module named.
func pythonHas(_ modules: String...) -> Bool {
    guard let result = try? runPython("import \(modules.joined(separator: ", "))") else { return false }
    return result.status == 0
}

func runPython(_ script: String, directory: String? = nil) throws -> CLIResult {
    try CLI.run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script], directory: directory)
}
