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

    @Option(help: "Profile: \(FakeLLMProfile.allCases.map(\.rawValue).joined(separator: ", ")).")
    var profile = "realistic"

    @Option(help: "A fake LLM configuration file (JSON): a profile plus overrides of any knob.")
    var config: String?

    @Option(help: "Seed of the answers' random stream.")
    var seed: UInt64 = 1

    @Option(help: "Divide every delay by this factor (1 = real speed).")
    var speedup: Int64 = 1

    @Option(help: "Seconds a call the fake decided never to answer holds its connection before a 504.")
    var hangSeconds: Int64 = 300

    @Option(help: "A connection that sends no complete request head for this many seconds is closed.")
    var headerTimeout: Int64 = 10

    @Option(help: "A request body not complete this many seconds after its head is cut.")
    var bodyTimeout: Int64 = 30

    @Option(help: "Connections open at once; past it the listener stops accepting until some close.")
    var connectionsMax = 2048

    @Option(help: "Append every call labelled with a task and node (request metadata) to this file as JSON lines (what `agentos cluster-test` checks).")
    var history: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard speedup >= 1 else { throw ValidationError("--speedup must be at least 1") }
        guard hangSeconds >= 0 else { throw ValidationError("--hang-seconds must be >= 0") }
        guard headerTimeout >= 1, bodyTimeout >= 1 else { throw ValidationError("--header-timeout and --body-timeout must be at least 1 second") }
        guard connectionsMax >= 1 else { throw ValidationError("--connections-max must be at least 1, got \(connectionsMax)") }
        try validateFakeLLMProfile(profile, configFile: config)
    }

    func run() async throws {
        let llmConfig = try resolveFakeLLMConfig(profile: profile, configFile: config)
        let live = LiveFakeLLM(config: llmConfig, seed: seed, speedup: speedup)
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        let calls = try history.map { path in
            do { return try HistoryWriter(path: path) } catch let error as ServeError { throw CLIError(error.description) }
        }
        FakeLLMRoutes(live: live, hangLimit: .seconds(hangSeconds), speedup: speedup, calls: calls).register(on: router)
        // The same listener limits as serve's: slow or idle connections are cut, and at most
        // --connections-max are open at once.
        let limits = ListenerLimits(headerTimeout: .seconds(headerTimeout), bodyTimeout: .seconds(bodyTimeout), connectionsMax: connectionsMax)
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

/// A fake-LLM profile name is checked only when no config file replaces it.
func validateFakeLLMProfile(_ profile: String, configFile: String?) throws {
    guard configFile == nil, FakeLLMProfile(rawValue: profile) == nil else { return }
    throw ValidationError("unknown profile '\(profile)' (known: \(FakeLLMProfile.allCases.map(\.rawValue).joined(separator: ", ")))")
}

/// The fake LLM's configuration: the file if one is given, else the named profile.
func resolveFakeLLMConfig(profile: String, configFile: String?) throws -> FakeLLMConfig {
    if let configFile { return try loadJSON(FakeLLMConfig.self, path: configFile, what: "fake LLM config") }
    guard let named = FakeLLMProfile(rawValue: profile) else { throw CLIError("unknown profile '\(profile)'") }
    return named.config
}
