import ArgumentParser
import Foundation
import FakeLLM
import Server

/// The fake LLM's flags, declared once for `serve` and `fake-llm`.
struct FakeLLMOptions: ParsableArguments {
    @Option(help: "Fake LLM profile: \(FakeLLMProfile.allCases.map(\.rawValue).joined(separator: ", ")).")
    var profile = "realistic"

    @Option(name: [.customLong("llm-config"), .customLong("config")], help: "A fake LLM configuration file (JSON): a profile plus overrides of any knob.")
    var configFile: String?

    @Option(help: "Seed of the fake LLM's answers.")
    var seed: UInt64 = 1

    /// A profile name is checked only when no config file replaces it.
    func validate() throws {
        guard configFile == nil, FakeLLMProfile(rawValue: profile) == nil else { return }
        throw ValidationError("unknown profile '\(profile)' (known: \(FakeLLMProfile.allCases.map(\.rawValue).joined(separator: ", ")))")
    }

    /// The configuration: the file if one is given, else the named profile.
    func resolve() throws -> FakeLLMConfig {
        if let configFile { return try loadJSON(FakeLLMConfig.self, path: configFile, what: "fake LLM config") }
        guard let named = FakeLLMProfile(rawValue: profile) else { throw CLIError("unknown profile '\(profile)'") }
        return named.config
    }
}

/// A listener's limits on slow, idle and too many connections, declared once for `serve` and
/// `fake-llm`.
struct ListenerOptions: ParsableArguments {
    @Option(help: "Seconds a connection may take to send a request's head (or sit idle) before it is closed.")
    var headerTimeout: Int64 = 10

    @Option(help: "Seconds a request's body may take to arrive after its head before the connection is cut.")
    var bodyTimeout: Int64 = 30

    @Option(help: "Connections the listener accepts at once; past it, it stops accepting until some close.")
    var connectionsMax = 2048

    func validate() throws {
        guard headerTimeout >= 1, bodyTimeout >= 1 else { throw ValidationError("--header-timeout and --body-timeout must be at least 1 second") }
        guard connectionsMax >= 1 else { throw ValidationError("--connections-max must be at least 1, got \(connectionsMax)") }
    }

    var limits: ListenerLimits {
        ListenerLimits(headerTimeout: .seconds(headerTimeout), bodyTimeout: .seconds(bodyTimeout), connectionsMax: connectionsMax)
    }
}

/// A cassette of recorded LLM calls to answer from, declared once for `run`, `serve` and
/// `fake-llm`.
struct CassetteOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Answer LLM calls from the recorded calls under DIR (`serve --record DIR`, or this flag with --cassette-mode record).",
            valueName: "DIR"))
    var cassette: String?

    @Option(help: "What a call with no recorded answer does: strict (fails the run), fallback (the fake LLM answers), record (the fake LLM answers and DIR keeps it).")
    var cassetteMode = "strict"

    func validate() throws {
        guard CassetteMode(rawValue: cassetteMode) != nil else {
            throw ValidationError("unknown --cassette-mode '\(cassetteMode)' (known: \(CassetteMode.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    /// The cassette, loaded (record mode starts from an empty one when DIR does not exist yet).
    func load() throws -> Cassette? {
        guard let cassette else { return nil }
        let mode = CassetteMode(rawValue: cassetteMode)!
        if mode == .record, !FileManager.default.fileExists(atPath: cassette) { return Cassette(entries: [], mode: mode) }
        do {
            return Cassette(entries: try CassetteFiles.load(cassette), mode: mode)
        } catch let error as ServeError {
            throw CLIError(error.description)
        }
    }
}
