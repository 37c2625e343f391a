import Core
import Foundation
import Sim

/// A readable timeline of a trace's events that matter: faults, restarts, claims and writes,
/// node starts, fenced owners, and what clients saw. Optionally about one task only.
enum Timeline {
    static func render(_ recorded: RecordedTrace, task: TaskID?) -> [String] {
        var lines: [String] = []
        for line in recorded.eventLines {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let kind = object["k"] as? String, let time = object["t"] as? Int64
            else { continue }
            let at = SimDuration(nanoseconds: time).description.padding(toLength: 10, withPad: " ", startingAt: 0)
            let node = object["node"] as? String ?? ""
            switch kind {
            case "fault" where task == nil:
                lines.append("\(at) fault     \(describe(object["fault"]))")
            case "start" where task == nil:
                if let incarnation = object["inc"] as? Int, incarnation > 1 { lines.append("\(at) restart   \(node) (incarnation \(incarnation))") }
            case "observe":
                let text = describe(object["obs"])
                if let task, !mentions(text, task: task) { continue }
                if text.contains("note") { continue }
                lines.append("\(at) \(node.padding(toLength: 10, withPad: " ", startingAt: 0)) \(text)")
            default:
                continue
            }
        }
        return lines
    }

    static func mentions(_ text: String, task: TaskID) -> Bool {
        text.contains("\"task\":\(task),") || text.contains("\"task\":\(task)}")
    }

    static func describe(_ value: Any?) -> String {
        guard let value, let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "?"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
