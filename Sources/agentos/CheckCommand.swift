import ArgumentParser
import Campaigns
import Checks
import ClusterTest
import Foundation
import Scenarios
import Sim

/// Judges recorded runs with the checkers, without running anything: a simulated trace (its
/// events and the store rows its end line carries) or a cluster test's folder (the roles', the
/// fake LLM's and the clients' histories, and the store).
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Judge recorded runs with the checkers: simulated traces and cluster-test folders.",
        discussion: """
            A trace (`agentos run --trace FILE`, or a failing seed's trace from explore or shrink) is judged from \
            the file alone: its events go through the same checkers a live run feeds, in order, and the store rows \
            its end line carries through the same final audit; no code of the system runs, so the verdict is about \
            what happened, whatever build wrote it. A folder kept by `agentos cluster-test --keep DIR` is judged \
            from its histories and store. The report is the one `run` (or `cluster-test`) prints. \
            Exit status: 0 every run passes, 1 a violation, 2 a file that cannot be judged.
            """
    )

    @Argument(help: "Trace files (.jsonl) and cluster-test folders.") var files: [String]
    @Option(help: "For a cluster-test folder whose store was PostgreSQL: its database URL.") var store: String?
    @Flag(help: "Print the verdicts as JSON (one object per file, in a list).") var json = false
    @Option(help: "Also write a JUnit XML report here (one test case per file and checker).") var junit: String?

    struct Verdict: Encodable {
        var file: String
        var kind: String
        var passed: Bool
        var checks: [CheckVerdict]
        var violations: [Violation]
        /// The run's figures, for a trace.
        var run: RunReport?
    }

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one trace file or cluster-test folder") }
    }

    func run() throws {
        var verdicts: [Verdict] = []
        for file in files {
            let verdict = try judge(file)
            verdicts.append(verdict)
            if !json { print(file: file, verdict) }
        }
        if json { printJSON(verdicts) }
        if let junit {
            var report = JUnitReport()
            for verdict in verdicts {
                let first = { (invariant: Int) in verdict.violations.first { $0.invariant.rawValue == invariant }?.detail }
                report.add(run: verdict.file, checks: verdict.checks, firstViolation: first, rerun: "agentos check \(verdict.file)")
            }
            try report.write(name: "agentos check", to: junit)
        }
        if verdicts.contains(where: { !$0.passed }) { throw ExitCode(ExitStatus.failed) }
    }

    func judge(_ file: String) throws -> Verdict {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else { throw CLIError("'\(file)': no such file or folder") }
        if isDirectory.boolValue {
            do {
                let judged = try ClusterHistory.judge(folder: file, storeURL: store)
                return Verdict(
                    file: file, kind: "cluster-test", passed: judged.violations.isEmpty, checks: judged.checks, violations: judged.violations, run: nil)
            } catch let error as ClusterTestError {
                throw CLIError(error.description)
            }
        }
        let report: RunReport
        do {
            report = try TraceJudge.judge(try RecordedTrace.load(path: file))
        } catch let error as TraceJudge.Failure {
            throw CLIError("'\(file)': \(error.description)")
        } catch {
            throw CLIError("'\(file)': \(oneLineError(error))")
        }
        return Verdict(file: file, kind: "trace", passed: report.passed, checks: report.checks, violations: report.violations, run: report)
    }

    func print(file: String, _ verdict: Verdict) {
        Swift.print("\(verdict.kind): \(file)")
        if let run = verdict.run {
            Swift.print("scenario: \(run.scenario), seed: \(run.seed) (judged from the file; nothing re-run)")
            printReport(run, wall: nil, replay: "agentos replay \(file) --timeline")
        } else {
            printChecks(verdict.checks, violations: verdict.violations)
            Swift.print(verdict.passed ? "result: PASS" : "result: FAIL, \(verdict.violations.count) violation(s)")
        }
    }
}
