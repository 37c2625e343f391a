import Checks
import Core
import Foundation
import Scenarios
import Testing

@testable import ClusterTest
@testable import Server
@testable import agentos

/// The real shell's traffic history (`TrafficRecorder`) read back by `cluster-test`
/// (`ClusterHistory`) and judged by the simulator's call-accounting checker.
@Suite("Real-run message traffic")
struct RealTrafficTests {
    /// Records one call from `proxy-1-1` to the worker of `proxy-2-1`, then a check the worker
    /// answers holding nothing; `restartBetween` restarts the worker in between.
    func judge(restartBetween: Bool) throws -> [Violation] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("traffic-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = TrafficRecorder(writer: try HistoryWriter(path: path))
        let owner = Address.proxy(region: 1, index: 1), worker = Address.proxy(region: 2, index: 1)
        recorder.started(owner, incarnation: 1)
        recorder.started(worker, incarnation: 1)
        let work = LLMWork(
            callID: 7, owner: owner, taskID: 3, node: "round-1", kind: .generation, prompt: String(repeating: "p", count: 10_000), stop: [],
            maxTokens: 64, totalCalls: 4, remainingHalfCalls: 6)
        recorder.delivered(recorder.sent(.llmWork(work), from: owner, to: worker), to: worker)
        if restartBetween { recorder.started(worker, incarnation: 2) }
        recorder.delivered(recorder.sent(.llmWorkCheck(owner: owner, callIDs: [7]), from: owner, to: worker), to: worker)
        let held = recorder.sent(.llmWorkHeld(callIDs: []), from: worker, to: owner)
        #expect(held != nil, "the work family is traced")
        #expect(recorder.sent(.regionHeartbeat(region: "region-1", load: 0), from: "region-1", to: "gateway") == nil, "other messages are not traced")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("ppppp"), "prompts stay out of the history")

        var history = ClusterHistory()
        try history.add(file: path)
        #expect(history.messages == (restartBetween ? 8 : 7))
        var suite = CheckerSuite(context: CheckContext())
        history.check(&suite, start: 0, speedup: 1)
        return suite.violations.filter { $0.invariant == .callAccounting }
    }

    @Test("a worker that received a call and then no longer holds it, without crashing, fails call accounting")
    func lostCallIsCaught() throws {
        let violations = try judge(restartBetween: false)
        #expect(violations.count == 1)
        #expect(violations.first?.detail.contains("never answered") == true, "\(violations)")
    }

    @Test("a worker restarted between the call and the check lost it legitimately")
    func restartedWorkerIsExcused() throws {
        #expect(try judge(restartBetween: true).isEmpty)
    }
}
