import Checks
import Core
import Foundation
import Scenarios
import Sim

/// A recorded scenario trace opened for editing: its events as typed lines and its end line's
/// store rows, written back as a trace `TraceJudge` reads. The sensitivity corpus injects
/// anomalies this way, into what was recorded, never into the code that recorded it.
public struct EditableTrace {
    public var headerLine: String
    public var events: [EventLine<CoreWorld>]
    public var end: RecordedEnd
    /// When the run ended (the end line's time).
    public let endTime: Instant
    /// The scenario's latency ceiling, if it has one.
    public let latencyMax: Interval?
    /// The gateway's admission limit in the run.
    public let openTasksMax: Int
    var footer: [String: Any]

    public init(_ recorded: RecordedTrace) throws {
        headerLine = recorded.headerLine
        let decoder = JSONDecoder()
        events = try recorded.eventLines.map { try decoder.decode(EventLine<CoreWorld>.self, from: Data($0.utf8)) }
        guard let end = try recorded.snapshot(as: RecordedEnd.self) else { throw CampaignError("the trace has no end snapshot") }
        self.end = end
        endTime = recorded.footer.time
        let scenario = try ScenarioReplay.inputs(recorded).scenario
        latencyMax = scenario.budgets?.latency?.max
        openTasksMax = scenario.cluster.openTasksMax ?? GatewaySettings(regions: [.region(1)]).openTasksMax
        guard let footer = try JSONSerialization.jsonObject(with: Data(recorded.footerLine.utf8)) as? [String: Any] else {
            throw CampaignError("the trace's end line is not an object")
        }
        self.footer = footer
    }

    /// The observations, with their positions.
    public func observations() -> [(index: Int, node: String, observation: WorldObservation)] {
        events.enumerated().compactMap { offset, line in
            guard line.k == "observe", let observation = line.obs, let node = line.node else { return nil }
            return (offset, node, observation)
        }
    }

    /// A copy of the observation line at `index`, carrying `observation`, right after it.
    public mutating func insert(_ observation: WorldObservation, after index: Int) {
        precondition(events[index].k == "observe", "line \(index) is a \(events[index].k), not an observation")
        var line = events[index]
        line.obs = observation
        events.insert(line, at: index + 1)
    }

    /// The trace as text, events renumbered and the end line's count and rows updated.
    public func text() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines = [headerLine]
        for (offset, event) in events.enumerated() {
            var line = event
            line.i = UInt64(offset)
            lines.append(String(decoding: try encoder.encode(line), as: UTF8.self))
        }
        var footer = self.footer
        footer["events"] = events.count
        footer["snapshot"] = try JSONSerialization.jsonObject(with: try encoder.encode(end))
        let end = try JSONSerialization.data(withJSONObject: footer, options: [.sortedKeys, .withoutEscapingSlashes])
        // Sorted keys put "end" first, which is how the trace reader knows the end line.
        lines.append(String(decoding: end, as: UTF8.self))
        return lines.joined(separator: "\n") + "\n"
    }

    /// Judges the edited trace with the checkers, as `agentos check` would.
    public func judge() throws -> RunReport {
        try TraceJudge.judge(try RecordedTrace.parse(try text()))
    }
}
