import FakeLLM
import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A running `agentos fake-llm` child process on a free loopback port.
final class FakeLLMServer {
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

    @Test("malformed requests get a 400 with an OpenAI error body, and the server keeps serving")
    func malformedRequestsGet400() async throws {
        let server = try FakeLLMServer(["--profile", "perfect"])
        let bad = [
            "not json",
            #"{"model":"m"}"#,
            #"{"model":"m","messages":"hi"}"#,
            #"{"model":"m","messages":[]}"#,
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":-3}"#,
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

    @Test("bad flags are refused before the server starts")
    func badFlags() throws {
        let unknown = try CLI.run(["fake-llm", "--profile", "turbo"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown profile 'turbo'"))
        let port = try CLI.run(["fake-llm", "--port", "70000"])
        #expect(port.status == 2)
    }
}
