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

@Suite("Arrival schedules shared with agentos load")
struct ArrivalScheduleTests {
    @Test("ClientArrivals.plan gives the very submit times a simulated client uses in the run with that seed")
    func arrivalsMatchTheSimulatedClient() throws {
        var scenario = ScenarioLibrary.poisson
        scenario.workload.clients = 1
        scenario.workload.requestsPerClient = 12
        scenario.phases = Phases(safety: .seconds(120), liveness: .seconds(600))
        let run = try ScenarioRun(scenario: scenario, seed: 9)
        let previous = run.simulation.eventSink
        var submitted: [Int64] = []
        run.simulation.eventSink = { entry in
            previous?(entry)
            if case .observe(_, .client(.submitted)) = entry.event { submitted.append(entry.time.nanoseconds) }
        }
        _ = try run.execute()
        var at: Int64 = 0
        var planned: [Int64] = []
        for burst in ClientArrivals.plan(scenario.workload, client: "client-1", seed: 9) {
            at += burst.gap.nanoseconds
            planned += burst.requests.map { _ in at }
        }
        #expect(planned.count == 12)
        #expect(submitted == planned)
        #expect(ClientArrivals.plan(scenario.workload, client: "client-1", seed: 10).map(\.gap) != ClientArrivals.plan(scenario.workload, client: "client-1", seed: 9).map(\.gap))
    }
}
