import Core
import FakeLLM
import Foundation
import Scenarios
import Testing

/// A scenario holds a `ClusterSpec`; its file keeps the `topology` and `policies` sections it
/// always had, so files, trace headers and experiments written before read the same.
@Suite("Scenario files")
struct ScenarioFileTests {
    static func json(_ scenario: Scenario) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(scenario), as: UTF8.self)
    }

    @Test("every named scenario reads back as itself, and writes the same bytes again", arguments: ScenarioLibrary.names)
    func namedScenarioRoundTrip(name: String) throws {
        let scenario = try ScenarioLibrary.scenario(named: name, seed: 7)
        let text = try Self.json(scenario)
        let read = try JSONDecoder().decode(Scenario.self, from: Data(text.utf8))
        #expect(read == scenario)
        #expect(try Self.json(read) == text)
    }

    @Test("a file's topology and policies become the cluster the run builds its roles from")
    func sectionsBecomeTheCluster() throws {
        var scenario = ScenarioLibrary.smoke
        let text = try Self.json(scenario)
        // Today's file shape, edited as a user edits it: the two sections by name.
        var object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var topology = try #require(object["topology"] as? [String: Any])
        topology["regions"] = 3
        topology["workerRetries"] = 1
        topology["timings"] = ["heartbeat": 2_000_000_000, "proxyEviction": 7_000_000_000, "regionSweep": 3_000_000_000]
        object["topology"] = topology
        object["policies"] = ["scheduling": "sjf", "balancing": "random", "voting": "early_majority", "checkpoints": "none"]
        let edited = try JSONDecoder().decode(Scenario.self, from: JSONSerialization.data(withJSONObject: object))
        scenario.cluster.regions = 3
        scenario.cluster.workerRetries = 1
        scenario.cluster.timings = RecoveryTimings(heartbeat: .seconds(2), proxyEviction: .seconds(7), regionSweep: .seconds(3))
        scenario.cluster.scheduling = .sjf
        scenario.cluster.balancing = .random
        scenario.cluster.voting = .earlyMajority
        scenario.cluster.checkpoints = .none
        #expect(edited == scenario)
        #expect(edited.cluster.regionNames == [.region(1), .region(2), .region(3)])
    }

    @Test("a default spelled out reads as the default, and is left out when written")
    func spelledOutDefaults() throws {
        let text = try Self.json(ScenarioLibrary.smoke)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var policies = try #require(object["policies"] as? [String: Any])
        #expect(policies["checkpoints"] == nil, "per-node is the default and is not written")
        policies["checkpoints"] = "per-node"
        object["policies"] = policies
        let read = try JSONDecoder().decode(Scenario.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(read.cluster.checkpoints == .perNode)
        #expect(read == ScenarioLibrary.smoke)
    }

    @Test("a file without its policies section is refused with the missing key named")
    func missingSection() throws {
        let text = try Self.json(ScenarioLibrary.smoke)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        object["policies"] = nil
        #expect {
            try JSONDecoder().decode(Scenario.self, from: JSONSerialization.data(withJSONObject: object))
        } throws: { error in
            "\(error)".contains("policies")
        }
    }
}
