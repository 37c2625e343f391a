import ArgumentParser
import Campaigns
import Foundation

/// The `agentos` command. Exit codes are the same for every subcommand: 0 success, 1 a failed
/// check (a violation, a divergence), 2 bad input (a bad flag, an unreadable trace or config).
@main
struct AgentOS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agentos",
        abstract: "AgentOS-Sim: deterministic simulation testing for LLM-agent coordination.",
        subcommands: [
            RunCommand.self, CheckCommand.self, ExploreCommand.self, ExploreMergeCommand.self, ReplayCommand.self, ShrinkCommand.self, ScenariosCommand.self, MarksCommand.self, SimCommand.self,
            ServeCommand.self, LoadCommand.self, ClusterTestCommand.self, ReproduceCommand.self, BenchCommand.self, FakeLLMCommand.self, ExploreBatchCommand.self, CertsCommand.self, MutateCommand.self, SensitivityCommand.self, CrashTableCommand.self, ReplayRealCommand.self,
        ]
    )

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch let error as CLIError {
            exitBadInput(error.message)
        } catch let error as CampaignError {
            exitBadInput(error.message)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data("\(fullMessage(for: error))\n".utf8))
            Foundation.exit(ExitStatus.badInput)
        }
    }
}

/// Bad input the user can fix: one line on standard error, exit status 2.
func exitBadInput(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    Foundation.exit(ExitStatus.badInput)
}

enum ExitStatus {
    static let ok: Int32 = 0
    static let failed: Int32 = 1
    static let badInput: Int32 = 2
}

/// Bad input the user can fix, reported as one line on standard error with exit status 2.
struct CLIError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Loads a JSON file as `T`, turning every failure into one readable line.
func loadJSON<T: Decodable>(_ type: T.Type, path: String, what: String) throws -> T {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError("cannot read \(what) '\(path)'")
    }
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch {
        throw CLIError("\(what) '\(path)' does not parse: \(oneLineError(error))")
    }
}

func printJSON<T: Encodable>(_ value: T) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    print(String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self))
}
