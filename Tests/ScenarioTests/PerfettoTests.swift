import Foundation
import PlantedBugs
import Testing
@testable import Core
@testable import Scenarios
import Sim

@Suite("A run as a picture: the Chrome/Perfetto trace-event export")
struct PerfettoTests {
    /// Exports one run of `scenario` and returns the parsed trace-event document.
    func export(_ scenario: Scenario, seed: UInt64, overrides: RoleOverrides = .none) throws -> (events: [[String: Any]], report: RunReport) {
        let run = try ScenarioRun(scenario: scenario, seed: seed, overrides: overrides)
        let export = PerfettoExport.attached(to: run)
        let report = try run.execute()
        let data = try export.document(end: run.simulation.now, report: report)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (try #require(object["traceEvents"] as? [[String: Any]]), report)
    }

    @Test("the output is valid trace-event JSON: named tracks, well-formed slices, instants and paired flows")
    func validTraceEvents() throws {
        let (events, _) = try export(ScenarioLibrary.graphDAG, seed: 2)
        let names = Set(events.filter { $0["ph"] as? String == "M" && $0["name"] as? String == "thread_name" }
            .compactMap { ($0["args"] as? [String: Any])?["name"] as? String })
        #expect(names.isSuperset(of: ["store", "gateway", "region-1", "proxy-1-1", "llm-1", "client-1"]))
        var flows: [String: [UInt64]] = [:]
        for event in events {
            let phase = try #require(event["ph"] as? String)
            #expect(["M", "X", "i", "s", "f"].contains(phase))
            #expect(event["name"] is String && event["pid"] is Int && event["tid"] is Int && (event["ts"] is Double || event["ts"] is Int))
            if phase == "X" { #expect((event["dur"] as? Double ?? Double(event["dur"] as? Int ?? -1)) >= 1) }
            if phase == "s" || phase == "f" { flows[phase, default: []].append(try #require((event["id"] as? NSNumber)?.uint64Value)) }
        }
        #expect(Set(flows["f"] ?? []).isSubset(of: Set(flows["s"] ?? [])), "every flow end has its start")
        #expect(events.contains { $0["cat"] as? String == "task" && $0["ph"] as? String == "X" }, "ownership slices")
        #expect(events.contains { $0["cat"] as? String == "llm" && $0["ph"] as? String == "X" }, "LLM call slices")
        #expect(events.contains { $0["cat"] as? String == "fault" }, "fault instants")
    }

    @Test("a failing run's violations are marked")
    func violationsMarked() throws {
        var scenario = ScenarioLibrary.zombieOwner
        scenario.workload.tasks = chainTasks
        let (events, report) = try export(scenario, seed: 1, overrides: RoleOverrides(store: { StaleAcceptingStore(inner: StoreNode(store: $0)) }))
        #expect(!report.passed)
        let marked = events.filter { $0["cat"] as? String == "violation" }
        #expect(marked.count == report.violations.count)
        #expect((marked.first?["name"] as? String)?.hasPrefix("VIOLATION invariant 2 (fencing)") == true)
    }
}
