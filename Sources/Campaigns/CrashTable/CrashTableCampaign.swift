import Core
import Foundation
import SQLiteStore
import Scenarios

/// The whole crash table: the survey, then every point of every chosen operation, run on
/// `jobs` threads (each point is an independent simulation), with a progress bar.
public struct CrashTableCampaign {
    public var settings: CrashTableSettings
    public var jobs: Int
    public var showsProgress: Bool

    public init(settings: CrashTableSettings, jobs: Int = ProcessInfo.processInfo.activeProcessorCount, showsProgress: Bool = isatty(2) != 0) {
        self.settings = settings
        self.jobs = max(1, jobs)
        self.showsProgress = showsProgress
    }

    public func run() throws -> CrashTableReport {
        let (surveyed, survey) = try CrashTable.survey(settings)
        guard survey.passed else {
            throw CampaignError("the survey run (no crash) of \(settings.scenario.name) seed \(settings.seed) fails its checkers: \(survey.violations.first.map { "\($0)" } ?? "")")
        }
        let targets = CrashTable.targets(surveyed, kinds: settings.operations, settings: settings)
        let work = targets.flatMap { operation in CrashTable.points(of: operation).map { (operation, $0) } }
        let next = Locked(0)
        let rows = Locked([CrashTableRow?](repeating: nil, count: work.count))
        let failure = Locked<Error?>(nil)
        let bar = Locked(ProgressBar(total: work.count, label: "crash-table", enabled: showsProgress))
        let done = Locked(0)
        let settings = self.settings
        DispatchQueue.concurrentPerform(iterations: min(jobs, max(1, work.count))) { _ in
            while true {
                let index = next.withLock { value -> Int in
                    defer { value += 1 }
                    return value
                }
                guard index < work.count, failure.withLock({ $0 == nil }) else { return }
                do {
                    let row = try CrashTable.run(work[index].1, of: work[index].0, settings: settings)
                    rows.withLock { $0[index] = row }
                    let count = done.withLock { value -> Int in
                        value += 1
                        return value
                    }
                    bar.withLock { $0.update(count, note: row.passed ? "" : "FAIL \(row.point)") }
                } catch {
                    failure.withLock { $0 = CampaignError("crash point \(work[index].1): \(error)") }
                }
            }
        }
        bar.withLock { $0.finish() }
        if let error = failure.withLock({ $0 }) { throw error }
        let operationKinds = Set(surveyed.filter { CrashTable.crashable($0, settings) }.map(\.kind))
        return CrashTableReport(
            scenario: settings.scenario.name, seed: settings.seed, storeFile: settings.storeFile,
            surveyedOperations: surveyed.count, lateOperations: surveyed.filter { !CrashTable.crashable($0, settings) }.count, unseenKinds: settings.operations.filter { !operationKinds.contains($0) }.map(\.rawValue),
            targets: targets, rows: rows.withLock { $0.map { $0! } })
    }
}

/// The table, its summary, and what a user acts on.
public struct CrashTableReport: Codable, Sendable {
    public var scenario: String
    public var seed: UInt64
    public var storeFile: StoreFileSettings
    /// Store operations the survey run saw, of every kind.
    public var surveyedOperations: Int
    /// Operations that ran too close to the heal (or after it) for a crash and a restart to
    /// follow before the fault timeline stops: not in the table, and counted here.
    public var lateOperations: Int
    /// Asked-for kinds the scenario never ran (their rows are missing: say so, never skip silently).
    public var unseenKinds: [String]
    public var targets: [SurveyedOperation]
    public var rows: [CrashTableRow]

    public var losses: [CrashTableRow] { rows.filter { $0.outcome == .lost } }
    public var checkerFailures: [CrashTableRow] { rows.filter { !$0.failedCheckers.isEmpty } }
    public var unjudged: [CrashTableRow] { rows.filter { $0.outcome == nil } }
    /// No acknowledged loss, no checker failure, every point judged, every asked-for kind seen.
    public var passed: Bool { rows.allSatisfy(\.passed) && unseenKinds.isEmpty }

    /// The count of each outcome for each operation kind.
    public var matrix: [(StoreOperationKind, [CrashOutcome: Int])] {
        var byKind: [StoreOperationKind: [CrashOutcome: Int]] = [:]
        for row in rows {
            if let outcome = row.outcome { byKind[row.point.operation, default: [:]][outcome, default: 0] += 1 }
        }
        return byKind.keys.sorted().map { ($0, byKind[$0]!) }
    }

    public func lines() -> [String] {
        var lines: [String] = []
        lines.append(
            "crash-table: \(scenario) seed \(seed), journal_mode=\(storeFile.journalMode.rawValue) synchronous=\(storeFile.synchronous.rawValue): "
                + "\(targets.count) operations of \(surveyedOperations) surveyed, \(rows.count) crash points"
                + (lateOperations > 0 ? " (\(lateOperations) operations ran too near the heal to be crashed)" : ""))
        let width = max(24, rows.map { "\($0.point.operation.rawValue) #\($0.point.ordinal)".count }.max() ?? 0)
        let boundaryWidth = max(22, rows.map(\.point.boundaryLabel.count).max() ?? 0)
        func pad(_ text: String, _ count: Int) -> String { text.padding(toLength: max(count, text.count), withPad: " ", startingAt: 0) }
        lines.append(pad("operation", width) + "  " + pad("boundary", boundaryWidth) + "  " + pad("variant", 10) + "  " + pad("outcome", 24) + "  checkers")
        for row in rows {
            let checkers = row.failedCheckers.isEmpty ? "pass" : "FAIL " + row.failedCheckers.joined(separator: ", ")
            var line = pad("\(row.point.operation.rawValue) #\(row.point.ordinal)", width) + "  " + pad(row.point.boundaryLabel, boundaryWidth) + "  "
            line += pad(row.point.variantLabel, 10) + "  " + pad(row.outcome?.rawValue ?? "NOT JUDGED", 24) + "  " + checkers
            if let problem = row.problem { line += "  (\(problem))" }
            lines.append(line)
        }
        lines.append("")
        lines.append("summary (operation: outcome count):")
        for (kind, counts) in matrix {
            let parts = CrashOutcome.allCases.compactMap { outcome in counts[outcome].map { "\(outcome.rawValue) \($0)" } }
            lines.append("  \(pad(kind.rawValue, 22)) \(parts.joined(separator: ", "))")
        }
        for kind in unseenKinds { lines.append("  \(pad(kind, 22)) NOT SEEN: the scenario never ran this operation before the heal") }
        lines.append(
            passed
                ? "PASS: no acknowledged write lost, every checker passed at all \(rows.count) points"
                : "FAIL: \(losses.count) acknowledged loss(es), \(checkerFailures.count) point(s) failing a checker, \(unjudged.count) not judged"
                    + (unseenKinds.isEmpty ? "" : ", \(unseenKinds.count) operation kind(s) not seen"))
        return lines
    }
}
