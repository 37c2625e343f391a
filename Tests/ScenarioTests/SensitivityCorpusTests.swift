import Campaigns
import Checks
import Testing

/// The checkers' sensitivity: each anomaly kind injected into clean recorded runs must be
/// flagged by its checker, and the clean runs, read back through the same editing, by none.
@Suite struct SensitivityCorpusTests {
    static let report: SensitivityReport = {
        let corpus = SensitivityCorpus(
            sources: [ScenarioSeed(scenario: "smoke", seed: 1), ScenarioSeed(scenario: "zombie-owner", seed: 2), ScenarioSeed(scenario: "graph-dag", seed: 1)],
            sitesPerKind: 2, progress: false)
        return try! corpus.run()
    }()

    @Test func everyAnomalyKindIsFlaggedByItsCheckerAtEveryPlace() {
        let report = Self.report
        #expect(report.unmeasured.isEmpty, "kinds with no place: \(report.unmeasured)")
        for miss in report.misses { Issue.record("\(miss.anomaly!.rawValue) in \(miss.source) at event \(miss.site ?? -1) was not flagged; fired: \(miss.fired)") }
        for kind in Anomaly.allCases {
            let row = report.rows.first { $0.checker == kind.invariant.name }!
            #expect(row.anomalies >= 2 && row.recall == 1, "\(row.checker): \(row.flagged) of \(row.anomalies)")
        }
    }

    @Test func theCleanRunsReadBackThroughTheEditorPassEveryChecker() {
        let controls = Self.report.samples.filter { $0.anomaly == nil }
        #expect(controls.count == 3)
        for control in controls { #expect(control.fired.isEmpty, "\(control.source) fails \(control.fired) after a round trip") }
        #expect(Self.report.passed)
    }

    @Test func anAcknowledgedTaskMissingFromTheStoreIsAClientOutcomeViolation() {
        let lost = Self.report.samples.filter { $0.anomaly == .acknowledgedThenLost }
        #expect(!lost.isEmpty && lost.allSatisfy { $0.fired.contains(Invariant.clientOutcome.name) })
    }

    @Test func anAbortWithoutACauseIsUnjustified() {
        let aborts = Self.report.samples.filter { $0.anomaly == .abortWithoutCause }
        #expect(!aborts.isEmpty && aborts.allSatisfy { $0.fired == [Invariant.justifiedAborts.name] })
    }
}
