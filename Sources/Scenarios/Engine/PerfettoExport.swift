import Core
import Foundation
import Sim

/// A run as a picture: the Chrome / Perfetto trace-event format (JSON), which the Perfetto UI
/// (ui.perfetto.dev) and chrome://tracing open. One track per node. Slices show task ownership
/// (from an applied claim to the next claim or the end), LLM calls (from a worker's request to
/// the endpoint's answer) and message handling. Flow arrows link each message's send to its
/// delivery. Instants mark faults, restarts, drops and violations.
public final class PerfettoExport {
    /// One trace event. Times are microseconds of virtual time.
    struct Event: Encodable {
        var name: String
        var cat: String
        var ph: String
        var ts: Double
        var dur: Double?
        var pid = 1
        var tid: Int
        var id: UInt64?
        var bp: String?
        var s: String?
        var args: [String: String]?
    }

    struct Document: Encodable {
        var traceEvents: [Event]
        var displayTimeUnit = "ms"
        var otherData: [String: String]
    }

    private var events: [Event] = []
    private let names: [String]
    /// Open ownership slices by task: owner track, start, label.
    private var owners: [TaskID: (tid: Int, start: Double, label: String)] = [:]
    /// LLM calls in flight by (worker track, request id): start and label.
    private var calls: [String: (tid: Int, start: Double, label: String)] = [:]
    /// Sends of messages worth an arrow, by message id: sender track and label.
    private var sends: [UInt64: (tid: Int, label: String)] = [:]

    public init(names: [String]) {
        self.names = names
        for (index, name) in names.enumerated() {
            events.append(Event(name: "thread_name", cat: "__metadata", ph: "M", ts: 0, tid: index + 1, args: ["name": name]))
            events.append(Event(name: "thread_sort_index", cat: "__metadata", ph: "M", ts: 0, tid: index + 1, args: ["sort_index": String(index)]))
        }
    }

    static func micros(_ time: Instant) -> Double { Double(time.nanoseconds) / 1_000 }

    /// Feeds one event of the run.
    public func observe(_ entry: TraceEntry<CoreWorld>) {
        let ts = Self.micros(entry.time)
        switch entry.event {
        case .fault(let action):
            events.append(Event(name: "fault: \(action.summary)", cat: "fault", ph: "i", ts: ts, tid: 0, s: "g"))
        case .start(let node, let incarnation) where incarnation > 1:
            events.append(Event(name: "restart (incarnation \(incarnation))", cat: "fault", ph: "i", ts: ts, tid: node.index + 1, s: "t"))
        case .send(let id, let from, let to, let message):
            sent(id: id, from: from.index + 1, to: to.index + 1, message, ts: ts)
        case .deliver(let id, _, let to):
            guard let send = sends.removeValue(forKey: id) else { return }
            events.append(Event(name: send.label, cat: "message", ph: "X", ts: ts, dur: 1, tid: to.index + 1))
            events.append(Event(name: send.label, cat: "message", ph: "f", ts: ts, tid: to.index + 1, id: id, bp: "e"))
        case .drop(let id, _, let to, let reason):
            guard let send = sends.removeValue(forKey: id) else { return }
            events.append(Event(name: "dropped (\(reason.rawValue)): \(send.label)", cat: "message", ph: "i", ts: ts, tid: to.index + 1, s: "t"))
        case .observe(_, .core(.write(let task, let kind, let epoch, _, .applied(_, false)))):
            written(task: task, kind: kind, epoch: epoch, ts: ts)
        case .observe(let node, .core(.ownerFenced(let task, let epoch, _))):
            events.append(Event(name: "fenced: task \(task) at \(epoch)", cat: "task", ph: "i", ts: ts, tid: node.index + 1, s: "t"))
        default:
            break
        }
    }

    private func sent(id: UInt64, from: Int, to: Int, _ message: CoreMessage, ts: Double) {
        let label: String
        switch message {
        case .proxyHeartbeat, .regionHeartbeat, .membership, .llmWorkCheck, .llmWorkHeld: return  // the background hum
        case .llmRequest(let request):
            calls["\(from)#\(request.id)"] = (from, ts, "LLM call: task \(request.task) node \(request.node)")
            label = "llmRequest"
        case .llmReply(let reply):
            if let call = calls.removeValue(forKey: "\(to)#\(reply.id)") {
                var name = call.label
                if case .error(let status, _, _) = reply.result { name += " (HTTP \(status))" }
                events.append(Event(name: name, cat: "llm", ph: "X", ts: call.start, dur: max(1, ts - call.start), tid: call.tid))
            }
            label = "llmReply"
        case .submit(let request, _): label = "submit \(request)"
        case .submitted(let request, let task): label = "submitted \(request) -> task \(task)"
        case .submitBusy(let request, _, _): label = "busy: retry \(request) later"
        case .statusQuery(_, let task): label = "status? task \(task)"
        case .statusReply(_, let status): label = "status: \(status.name)"
        case .storeRequest(_, let request): label = "store: \(Self.describe(request))"
        case .storeReply: label = "store reply"
        case .assign(let task, let epoch): label = "assign task \(task) at \(epoch)"
        case .run(let task, let epoch, let owner): label = "run task \(task) at \(epoch) as \(owner)"
        case .cannotPlace(let task, _, _): label = "cannot place task \(task)"
        case .llmWork(let work): label = "work: task \(work.taskID) node \(work.node)"
        case .llmWorkReply(_, let result): label = "work reply: \(Self.describe(result))"
        default: label = "message"
        }
        sends[id] = (from, label)
        events.append(Event(name: label, cat: "message", ph: "X", ts: ts, dur: 1, tid: from))
        events.append(Event(name: label, cat: "message", ph: "s", ts: ts, tid: from, id: id, bp: "e"))
    }

    private func written(task: TaskID, kind: WriteKind, epoch: Epoch, ts: Double) {
        switch kind {
        case .claim(_, let owner):
            close(task, at: ts)
            guard let owner, let index = names.firstIndex(of: owner.proxy.name) else { return }
            owners[task] = (index + 1, ts, "task \(task) at \(epoch)")
        case .finish(let status, _, _):
            close(task, at: ts, ending: status.rawValue)
        case .abort:
            close(task, at: ts, ending: "aborted")
        case .progress(let node, _, _):
            if let owner = owners[task] {
                events.append(Event(name: "saved task \(task) node \(node)", cat: "task", ph: "i", ts: ts, tid: owner.tid, s: "t"))
            }
        }
    }

    private func close(_ task: TaskID, at ts: Double, ending: String? = nil) {
        guard let owner = owners.removeValue(forKey: task) else { return }
        let name = ending.map { "\(owner.label) (\($0))" } ?? owner.label
        events.append(Event(name: name, cat: "task", ph: "X", ts: owner.start, dur: max(1, ts - owner.start), tid: owner.tid))
    }

    static func describe(_ request: StoreRequest) -> String {
        switch request {
        case .createTask: "create task"
        case .getTask(let task): "get task \(task)"
        case .taskStatus(let task): "status of task \(task)"
        case .claim(let task, let epoch, _, let owner): "claim task \(task) at \(epoch)\(owner.map { " for \($0)" } ?? "")"
        case .saveProgress(let task, let node, let epoch, _, _): "save task \(task) node \(node) at \(epoch)"
        case .finish(let task, let epoch, _): "finish task \(task) at \(epoch)"
        case .abort(let task, let epoch, let cause): "abort task \(task) at \(epoch): \(cause.kind)"
        case .getProgressList(let task): "progress of task \(task)"
        case .unfinishedTasks: "unfinished tasks"
        }
    }

    static func describe(_ result: LLMWorkResult) -> String {
        switch result {
        case .text: "text"
        case .queueFull: "queue full"
        case .failed(_, let retryable, _): retryable ? "failed (retryable)" : "failed"
        }
    }

    /// The document, with the run's violations as instants and every open slice closed at `end`.
    public func document(end: Instant, report: RunReport) throws -> Data {
        let ts = Self.micros(end)
        for task in owners.keys.sorted() { close(task, at: ts, ending: "open at the end") }
        for violation in report.violations {
            events.append(Event(
                name: "VIOLATION \(violation.invariant): \(violation.detail)", cat: "violation", ph: "i", ts: Self.micros(violation.time), tid: 0,
                s: "g", args: ["task": violation.task.map(String.init) ?? "", "node": violation.node ?? ""]))
        }
        let document = Document(
            traceEvents: events,
            otherData: ["scenario": report.scenario, "seed": report.seed, "verdict": report.passed ? "pass" : "fail", "hash": report.hash])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try encoder.encode(document)
    }
}

extension PerfettoExport {
    /// An export fed by every event of `run` from now on (call before `execute`).
    public static func attached(to run: ScenarioRun) -> PerfettoExport {
        let export = PerfettoExport(names: run.simulation.names)
        let sink = run.simulation.eventSink
        run.simulation.eventSink = { entry in
            sink?(entry)
            export.observe(entry)
        }
        return export
    }
}

extension ScenarioReplay {
    /// Re-runs a trace's recorded inputs and writes the run in the trace-event format.
    public static func perfetto(_ recorded: RecordedTrace, to path: String) throws -> RunReport {
        let (scenario, seed, faults) = try inputs(recorded)
        let run = try ScenarioRun(scenario: scenario, seed: seed, faults: faults)
        let export = PerfettoExport.attached(to: run)
        let report = try run.execute()
        try export.document(end: run.simulation.now, report: report).write(to: URL(fileURLWithPath: path))
        return report
    }
}
