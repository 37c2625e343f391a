import FakeLLM
import Foundation
import Server
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("Cassettes on the command line: record a run's LLM calls, answer another run from them", .serialized)
struct CassetteCLITests {
    @Test("run --cassette: a recorded run replays with every call matched; a planted prompt change misses with its first differing message and fails")
    func simulatorRecordsAndReplays() throws {
        let directory = CLI.temporaryPath("cassette")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let recorded = try CLI.run(["run", "--scenario", "graph-dag", "--seed", "2", "--cassette", directory, "--cassette-mode", "record"])
        #expect(recorded.status == 0, "\(recorded.stdout)")
        let calls = try CassetteFiles.load(directory).count
        #expect(calls > 50)
        #expect(recorded.stdout.contains("0 call(s) matched, \(calls) missed, \(calls) recorded"), "\(recorded.stdout)")

        let replayed = try CLI.run(["run", "--scenario", "graph-dag", "--seed", "2", "--cassette", directory])
        #expect(replayed.status == 0, "\(replayed.stdout)")
        #expect(replayed.stdout.contains("(strict): \(calls) call(s) matched, 0 missed"), "\(replayed.stdout)")

        // The owner leaves the last parent's result out of its prompts: the first such prompt
        // misses, named by the message and the character where it leaves the recording.
        let changed = try CLI.run(["run", "--scenario", "graph-dag", "--seed", "2", "--cassette", directory, "--plant", "parent-dropping-owner"])
        #expect(changed.status == 1, "\(changed.stdout)")
        #expect(changed.stdout.contains("message 1 field content differs at character"), "\(changed.stdout)")
        #expect(changed.stdout.contains("recorded '<<result of step"), "the recording has the parent's result where the run has none: \(changed.stdout)")
        #expect(changed.stdout.contains("FAIL: strict mode"), "\(changed.stdout)")

        let fallback = try CLI.run(["run", "--scenario", "graph-dag", "--seed", "2", "--cassette", directory, "--cassette-mode", "fallback", "--json"])
        #expect(fallback.status == 0, "\(fallback.stderr)")
        #expect(fallback.stderr.contains("(fallback): \(calls) call(s) matched"), "\(fallback.stderr)")
    }

    @Test("run --cassette refuses what it cannot honour: a missing cassette, a malformed entry, an unknown mode, and a trace")
    func badCassetteInput() throws {
        let missing = try CLI.run(["run", "--cassette", CLI.temporaryPath("no-such-cassette")])
        #expect(missing.status != 0 && missing.stderr.contains("no cassette at"), "\(missing.stderr)")
        let directory = CLI.temporaryPath("bad-cassette")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "{\"key\": 1}\n{}\n".write(toFile: directory + "/llm-calls.jsonl", atomically: true, encoding: .utf8)
        let malformed = try CLI.run(["run", "--cassette", directory])
        #expect(malformed.status != 0 && malformed.stderr.contains("llm-calls.jsonl:1: not a cassette entry"), "\(malformed.stderr)")
        let mode = try CLI.run(["run", "--cassette", directory, "--cassette-mode", "loose"])
        #expect(mode.status != 0 && mode.stderr.contains("unknown --cassette-mode 'loose'"), "\(mode.stderr)")
        let traced = try CLI.run(["run", "--cassette", directory, "--trace", CLI.temporaryPath("t.jsonl")])
        #expect(traced.status != 0 && traced.stderr.contains("a trace does not carry the cassette"), "\(traced.stderr)")
    }

    @Test("serve --record keeps every call the proxies make, and neither the LLM key nor the role secret; fake-llm --cassette answers them again")
    func realShellRecordsWithoutSecrets() async throws {
        let directory = CLI.temporaryPath("recording")
        let data = CLI.temporaryPath("data")
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: data)
        }
        let key = "sk-test-\(UInt64.random(in: 1...UInt64.max))"
        let secret = "role-secret-\(UInt64.random(in: 1...UInt64.max))"
        let llmPort = freeTestPort()
        let llm = try ChildServer(
            ["fake-llm", "--port", String(llmPort), "--profile", "perfect", "--speedup", "20"], readyMarker: "listening on")
        let port = freeTestPort()
        let server = try startServeWith(
            [
                "--port", String(port), "--data-dir", data, "--speedup", "20", "--llm-url", "http://127.0.0.1:\(llmPort)/v1/chat/completions",
                "--record", directory,
            ], environment: ["OPENAI_API_KEY": key, "AGENTOS_ROLE_SECRET": secret])
        let base = "http://127.0.0.1:\(port)"
        let (status, body) = try await http("POST", "\(base)/query", query)
        #expect(status == 200, "\(body)")
        let task = try #require(body["task_id"] as? Int)
        let final = try await waitFinal(base, task: task)
        #expect(final["status"] as? String == "completed", "\(final)")
        _ = server

        let entries = try CassetteFiles.load(directory)
        #expect(entries.count >= 2 * 2 + 2, "two rounds of two samples and two voters at least: \(entries.count)")
        #expect(entries.allSatisfy { $0.status == 200 && $0.latencyMillis > 0 && $0.endpoint == "llm-1" && $0.task == String(task) })
        for file in try FileManager.default.subpathsOfDirectory(atPath: directory) {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            #expect(!text.contains(key), "the LLM key leaked into \(file)")
            #expect(!text.contains(secret), "the role secret leaked into \(file)")
            #expect(!text.lowercased().contains("authorization"), "a header leaked into \(file)")
        }

        // The recording answers a fake LLM: the recorded request gets the recorded answer, a
        // changed one a 500 that says where it differs.
        let replayPort = freeTestPort()
        let replay = try ChildServer(["fake-llm", "--port", String(replayPort), "--cassette", directory], readyMarker: "listening on")
        let first = entries[0]
        let recordedBody = try JSONEncoder().encode(
            ChatRequest(
                model: "any", messages: first.request.messages.map { ChatMessage(role: $0.role, content: $0.content) }, maxTokens: first.request.maxTokens,
                stop: first.request.stop))
        let (hit, hitBody) = try await http("POST", "http://127.0.0.1:\(replayPort)/v1/chat/completions", String(decoding: recordedBody, as: UTF8.self))
        #expect(hit == 200, "\(hitBody)")
        let choices = hitBody["choices"] as? [[String: Any]]
        // A request recorded several times (a round's samples) answers first with the one sent first.
        let earliest = entries.filter { $0.key == first.key }.min { ($0.atMillis ?? 0) < ($1.atMillis ?? 0) }
        #expect((choices?.first?["message"] as? [String: Any])?["content"] as? String == earliest?.answer)
        var changed = first.request.messages.map { ChatMessage(role: $0.role, content: $0.content) }
        changed[0].content = "Task: something else entirely"
        let changedBody = try JSONEncoder().encode(ChatRequest(model: "any", messages: changed, maxTokens: first.request.maxTokens, stop: first.request.stop))
        let (miss, missBody) = try await http("POST", "http://127.0.0.1:\(replayPort)/v1/chat/completions", String(decoding: changedBody, as: UTF8.self))
        #expect(miss == 500)
        let message = ((missBody["error"] as? [String: Any])?["message"] as? String) ?? ""
        #expect(message.contains("cassette miss") && message.contains("message 1 field content differs at character 7"), "\(missBody)")
        _ = (llm, replay)
    }

    @Test("a recording rotates at its size bound, keeps its newest files, and reads back oldest first; a torn last line is skipped")
    func recordingRotates() throws {
        let directory = CLI.temporaryPath("rotating")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let recorder = try LLMRecorder(directory: directory, bytesMax: 4 * 1024, filesKept: 3)
        for number in 0..<60 {
            let request = CassetteRequest(
                ChatRequest(model: "m", messages: [ChatMessage(role: "user", content: "call \(number) " + String(repeating: "x", count: 100))]))
            recorder.append(CassetteEntry(request: request, status: 200, answer: "answer \(number)", error: nil, latencyMillis: 1))
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files == ["llm-calls.1.jsonl", "llm-calls.2.jsonl", "llm-calls.jsonl"])
        let sizes = try files.map { try FileManager.default.attributesOfItem(atPath: directory + "/" + $0)[.size] as! Int }
        #expect(sizes.allSatisfy { $0 <= 4 * 1024 / 3 }, "\(sizes)")
        let answers = try CassetteFiles.load(directory).compactMap(\.answer)
        #expect(answers.last == "answer 59")
        #expect(answers == answers.sorted { Int($0.split(separator: " ")[1])! < Int($1.split(separator: " ")[1])! }, "oldest first: \(answers)")
        #expect(answers.count < 60 && recorder.rotations > 2)
        // A process killed mid-write leaves half a line at the end.
        let handle = try #require(FileHandle(forWritingAtPath: directory + "/llm-calls.jsonl"))
        handle.seekToEndOfFile()
        handle.write(Data("{\"key\":\"00".utf8))
        try handle.close()
        #expect(try CassetteFiles.load(directory).count == answers.count)
    }
}

/// `startServe` with environment variables for the child.
func startServeWith(_ arguments: [String], environment: [String: String]) throws -> ChildServer {
    try ChildServer(["serve"] + arguments, readyMarker: "agentos serving", environment: environment)
}
