import ArgumentParser
import FakeLLM
import Foundation
import Hummingbird
import Server

/// Serves the fake LLM over HTTP with an OpenAI-compatible API, so any OpenAI client (and the
/// real shell) can use it by URL without internet.
struct FakeLLMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-llm",
        abstract: "Serve the fake LLM as an OpenAI-compatible endpoint (POST /v1/chat/completions, GET /v1/models)."
    )

    @Option(help: "Address to bind; loopback unless told otherwise.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free port and prints it).")
    var port = 8000

    @OptionGroup var fake: FakeLLMOptions

    @OptionGroup var cassette: CassetteOptions

    @Option(help: "Divide every delay by this factor (1 = real speed).")
    var speedup: Int64 = 1

    @Option(help: "Seconds a call the fake decided never to answer holds its connection before a 504.")
    var hangSeconds: Int64 = 300


    @Option(help: "Append every call labelled with a task and node (request metadata) to this file as JSON lines (what `agentos cluster-test` checks).")
    var history: String?

    @OptionGroup var listener: ListenerOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard speedup >= 1 else { throw ValidationError("--speedup must be at least 1") }
        guard hangSeconds >= 0 else { throw ValidationError("--hang-seconds must be >= 0") }
    }

    func run() async throws {
        let llmConfig = try fake.resolve()
        let recorded = try cassette.load()
        if let recorded, let directory = cassette.cassette {
            try liveCassette(recorded, directory: directory)
            FileHandle.standardError.write(Data("cassette: \(recorded.entryCount) recorded call(s) from \(directory), mode \(recorded.mode.rawValue)\n".utf8))
        }
        let live = LiveFakeLLM(config: llmConfig, seed: fake.seed, speedup: speedup, cassette: recorded)
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        let calls = try history.map { path in
            do { return try HistoryWriter(path: path) } catch let error as ServeError { throw CLIError(error.description) }
        }
        FakeLLMRoutes(live: live, hangLimit: .seconds(hangSeconds), speedup: speedup, calls: calls).register(on: router)
        // The same listener limits as serve's: slow or idle connections are cut, and at most
        // --connections-max are open at once.
        let limits = listener.limits
        let app = Application(
            router: router, server: limits.server(), configuration: limits.configuration(host: host, port: port, serverName: "agentos-fake-llm"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                // Unbuffered, so a parent process reading the port sees it at once.
                FileHandle.standardOutput.write(
                    Data("fake LLM (\(llmConfig.profile), model \(llmConfig.model)) listening on http://\(host):\(bound)\n".utf8))
            })
        try await app.runService()
    }
}

/// A live server's cassette: each miss is reported on stderr as it happens, and in record mode
/// each new answer is added to the cassette's directory at once (nothing waits for a shutdown).
func liveCassette(_ cassette: Cassette, directory: String) throws {
    cassette.missSink = { miss in FileHandle.standardError.write(Data("cassette miss: \(miss)\n".utf8)) }
    if cassette.mode == .record {
        let recorder: LLMRecorder
        do { recorder = try LLMRecorder(directory: directory) } catch let error as ServeError { throw CLIError(error.description) }
        cassette.recordSink = { recorder.append($0) }
    }
}
