import Core
import Foundation
import Scenarios
import Sim

/// A readable timeline of a trace's events that matter: faults, restarts, claims and writes,
/// node starts, fenced owners, and what clients saw. Optionally about one task only. Read with
/// the trace's typed reader: events are matched by value, never by searching their JSON.
enum Timeline {
    static func render(_ recorded: RecordedTrace, task: TaskID?) throws -> [String] {
        var lines: [String] = []
        for event in try recorded.readableEvents(CoreWorld.self) {
            let at = Interval(nanoseconds: event.time.nanoseconds).description.padding(toLength: 10, withPad: " ", startingAt: 0)
            switch event.kind {
            case .fault(let action) where task == nil:
                lines.append("\(at) fault     \(json(action))")
            case .start(let node, let incarnation) where task == nil && incarnation > 1:
                lines.append("\(at) restart   \(node) (incarnation \(incarnation))")
            case .observe(let node, let observation):
                if let task, observation.task != task { continue }
                if observation.isNote { continue }
                lines.append("\(at) \(node.padding(toLength: 10, withPad: " ", startingAt: 0)) \(json(observation))")
            default:
                continue
            }
        }
        return lines
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }
}
