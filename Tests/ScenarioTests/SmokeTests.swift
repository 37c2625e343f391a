import Testing
@testable import Scenarios
import Sim

@Suite("Scenario runs")
struct SmokeTests {
    @Test("the smoke scenario passes every invariant and completes every task")
    func smokePasses() throws {
        let run = try ScenarioRun(scenario: ScenarioLibrary.smoke, seed: 1)
        let report = try run.execute()
        #expect(report.passed, "\(report.violations)")
        #expect(report.tasks == 4 && report.completed == 4)
        #expect(report.livenessConverged)
        print(report)
    }
}
