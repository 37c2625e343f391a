import Determinism
import Foundation

/// One experiment of the reference system's published benchmarks, as a file a user can edit:
/// a named scenario to start from, the changes every row makes to it, and one entry per row
/// with its own changes and the reference's published mean latency.
///
/// Changes are partial JSON objects merged into the scenario's JSON: objects merge key by key,
/// anything else (numbers, strings, arrays, null) replaces what was there, and so does an object
/// that names a `profile` (an LLM configuration: the profile sets every field it leaves out) or
/// names another single key than the one there (an enum case replaced by another).
public struct Experiment: Sendable {
    public struct Row: Sendable {
        public var row: String
        /// The reference's mean client-observed latency, seconds.
        public var referenceMean: Double
        public var scenario: Scenario
        /// The model was fitted to this row: it is in-sample, shown but not counted.
        public var fitted = false
        /// The reference's run did not run what the row says (a setting it never applied):
        /// shown but not counted.
        public var confounded = false

        /// Whether the row is an out-of-sample test of the model.
        public var counted: Bool { !fitted && !confounded }
    }

    public var experiment: String
    public var title: String
    /// What a reader must know about the reference's numbers (single runs, confounds).
    public var caveats: [String]
    /// The row the others are compared against (the first row unless named).
    public var baseline: String
    public var rows: [Row]
    /// Reference runs no published table uses: reported as predictions, apart from the
    /// published tables' count.
    public var predictions = false

    /// Reads an experiment file; every problem is one line naming the file and the row.
    public static func load(path: String) throws -> Experiment {
        guard let data = FileManager.default.contents(atPath: path) else { throw ScenarioError.invalid("cannot read experiment file '\(path)'") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ScenarioError.invalid("\(path): not a JSON object")
        }
        func field<T>(_ key: String, in object: [String: Any], _ what: String) throws -> T {
            guard let value = object[key] as? T else { throw ScenarioError.invalid("\(path): \(what) needs '\(key)' (\(T.self))") }
            return value
        }
        let name: String = try field("experiment", in: object, "the experiment")
        let base: String = try field("base", in: object, "the experiment")
        let rowObjects: [[String: Any]] = try field("rows", in: object, "the experiment")
        guard !rowObjects.isEmpty else { throw ScenarioError.invalid("\(path): 'rows' is empty") }
        let baseScenario: Scenario
        do {
            baseScenario = try ScenarioLibrary.scenario(named: base, seed: 1)
        } catch {
            throw ScenarioError.invalid("\(path): base: \(error)")
        }
        let encoder = JSONEncoder()
        let baseObject = try JSONSerialization.jsonObject(with: try encoder.encode(baseScenario)) as! [String: Any]
        let common = object["set"] as? [String: Any] ?? [:]
        var rows: [Row] = []
        for rowObject in rowObjects {
            let label: String = try field("row", in: rowObject, "a row")
            let unknown = Set(rowObject.keys).subtracting(["row", "referenceMean", "set", "fitted", "confounded"])
            guard unknown.isEmpty else {
                throw ScenarioError.invalid("\(path): row '\(label)': unknown field(s) \(unknown.sorted().joined(separator: ", ")) (known: row, referenceMean, set, fitted, confounded)")
            }
            guard let reference = (rowObject["referenceMean"] as? NSNumber)?.doubleValue else {
                throw ScenarioError.invalid("\(path): row '\(label)' needs 'referenceMean' (seconds)")
            }
            var merged = merge(merge(baseObject, common), rowObject["set"] as? [String: Any] ?? [:])
            merged["name"] = "\(name)/\(label)"
            let scenario: Scenario
            do {
                scenario = try JSONDecoder().decode(Scenario.self, from: try JSONSerialization.data(withJSONObject: merged))
            } catch let error as DecodingError {
                throw ScenarioError.invalid("\(path): row '\(label)': \(oneLine(error))")
            }
            if let problem = scenario.problem() { throw ScenarioError.invalid("\(path): row '\(label)': \(problem)") }
            rows.append(
                Row(
                    row: label, referenceMean: reference, scenario: scenario, fitted: rowObject["fitted"] as? Bool ?? false,
                    confounded: rowObject["confounded"] as? Bool ?? false))
        }
        let baseline = object["baseline"] as? String ?? rows[0].row
        guard rows.contains(where: { $0.row == baseline }) else { throw ScenarioError.invalid("\(path): baseline '\(baseline)' is not a row") }
        return Experiment(
            experiment: name, title: object["title"] as? String ?? name, caveats: object["caveats"] as? [String] ?? [], baseline: baseline, rows: rows,
            predictions: object["predictions"] as? Bool ?? false)
    }

    /// `patch` merged into `base`: objects key by key, everything else replaced.
    public static func merge(_ base: [String: Any], _ patch: [String: Any]) -> [String: Any] {
        var result = base
        for (key, value) in patch {
            if let inner = value as? [String: Any], inner["profile"] == nil, let existing = result[key] as? [String: Any], !switchesCase(existing, inner) {
                result[key] = merge(existing, inner)
            } else {
                result[key] = value
            }
        }
        return result
    }

    /// Both objects hold one key, and not the same one: an enum case replaced by another
    /// (`{"poisson": ...}` by `{"arrivals": ...}`), which must not merge into two.
    static func switchesCase(_ existing: [String: Any], _ patch: [String: Any]) -> Bool {
        existing.count == 1 && patch.count == 1 && existing.keys.first != patch.keys.first
    }
}
