import ArgumentParser
import Campaigns
import ClusterTest
import Foundation
import SQLiteStore
import Scenarios

/// `agentos crash-table`: every store operation crashed at every durable boundary, judged.
struct CrashTableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-table",
        abstract: "Crash the store at every durable boundary of every operation, recover, and judge.",
        discussion: """
            A survey run records, for each store operation (create, claim for a region, claim by a \
            proxy, save progress, save a round, finish, abort, status read after a restart), every \
            durable boundary the simulated disk sees during it: each write, truncation and sync of \
            the database, its WAL and its journal. For each operation kind and each distinct \
            boundary pattern, the table then crashes the store at each boundary (power lost just \
            before it, just after it, with its write torn, or the process killed with the page cache \
            kept) and after the reply went out, restarts it, lets SQLite and the core recover, and \
            judges the run with every checker. Outcomes: not acknowledged and absent, re-executed, \
            kept though not acknowledged, acknowledged and kept, acknowledged and lost. \
            Exit status: 0 no acknowledged loss and every checker passed, 1 otherwise, 2 bad input.
            """
    )

    @Option(help: "The scenario (a name or a scenario file); default: a built-in one with round checkpoints and a store restart.")
    var scenario: String?

    @Option(help: "The seed of the survey and of every crash run.")
    var seed: UInt64 = 1

    @Option(help: "How the store's SQLite file is opened: journal=WAL|DELETE|TRUNCATE,synchronous=FULL|NORMAL|OFF.")
    var settings: String = "journal=WAL,synchronous=FULL"

    @Option(help: "Operation kinds to crash in, comma-separated (default: all of \(StoreOperationKind.allCases.map(\.rawValue).joined(separator: ", "))).")
    var operations: String?

    @Option(help: "Seconds the crashed store stays down before it restarts.")
    var restartDelay: Int64 = 2

    @Option(help: "Crash runs at once.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Crash the PostgreSQL store at this URL instead, at statement boundaries, on a real server (needs --postgres-data).")
    var postgres: String?

    @Option(help: "The data directory of the --postgres server, which the table kills (pg_ctl stop -m immediate) and restarts.")
    var postgresData: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard restartDelay >= 0 else { throw ValidationError("--restart-delay must not be negative") }
        _ = try Self.parseSettings(settings)
        _ = try Self.parseOperations(operations)
        guard (postgres == nil) == (postgresData == nil) else { throw ValidationError("--postgres and --postgres-data go together") }
        if postgres != nil, scenario != nil || settings != "journal=WAL,synchronous=FULL" {
            throw ValidationError("--scenario and --settings are the simulator's; the PostgreSQL table runs its own operations on the server's settings")
        }
    }

    static func parseSettings(_ text: String) throws -> StoreFileSettings {
        var result = StoreFileSettings.durable
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { throw ValidationError("--settings: '\(part)' is not KEY=VALUE") }
            switch pair[0].lowercased() {
            case "journal", "journal_mode":
                guard let mode = StoreFileSettings.JournalMode(rawValue: pair[1].uppercased()) else {
                    throw ValidationError("--settings: journal must be WAL, DELETE or TRUNCATE, not '\(pair[1])'")
                }
                result.journalMode = mode
            case "synchronous":
                guard let level = StoreFileSettings.Synchronous(rawValue: pair[1].uppercased()) else {
                    throw ValidationError("--settings: synchronous must be FULL, NORMAL or OFF, not '\(pair[1])'")
                }
                result.synchronous = level
            default:
                throw ValidationError("--settings: unknown key '\(pair[0])' (known: journal, synchronous)")
            }
        }
        return result
    }

    static func parseOperations(_ text: String?) throws -> [StoreOperationKind] {
        guard let text else { return StoreOperationKind.allCases }
        return try text.split(separator: ",").map { name in
            guard let kind = StoreOperationKind(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--operations: unknown operation '\(name)' (known: \(StoreOperationKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return kind
        }
    }

    func run() throws {
        if let postgres, let postgresData {
            let report = try PostgresCrashTable(PostgresCrashTableOptions(url: postgres, dataDirectory: postgresData, operations: try Self.parseOperations(operations))).run()
            try emit(report, lines: report.lines(), passed: report.passed)
            return
        }
        var tableSettings = CrashTableSettings(
            seed: seed, storeFile: try Self.parseSettings(settings), operations: try Self.parseOperations(operations),
            restartDelay: .seconds(restartDelay))
        if let scenario { tableSettings.scenario = try resolveScenario(scenario, seed: seed) }
        let report = try CrashTableCampaign(settings: tableSettings, jobs: jobs).run()
        try emit(report, lines: report.lines(), passed: report.passed)
    }

    func emit(_ report: some Encodable, lines: [String], passed: Bool) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for line in lines { print(line) }
        }
        if !passed { throw ExitCode(ExitStatus.failed) }
    }
}
