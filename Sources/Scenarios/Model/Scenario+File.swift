import Core
import FakeLLM
import Sim

/// A scenario file's two cluster sections, as they have always read: `topology` (the shape,
/// the worker knobs, the timings and the fake LLM) and `policies`. They exist only to read and
/// write files and trace headers; a scenario holds a `ClusterSpec`.
///
/// Optional fields stay optional on the way out: a knob at its default (`timings`,
/// `checkpoints: per-node`) is left out, so a scenario made in code writes the JSON it always
/// did. A file that spelled a default out reads the same and writes it shorter.
public enum ScenarioFile {
    public struct Topology: Codable, Hashable, Sendable {
        public var regions: Int
        public var proxiesPerRegion: Int
        public var llmEndpoints: Int
        public var llm: FakeLLMConfig
        public var workerConcurrency: Int
        public var workerQueue: Int
        public var workerRetries: Int?
        public var openTasksMax: Int?
        public var timings: RecoveryTimings?
    }

    public struct Policies: Codable, Hashable, Sendable {
        public var scheduling: SchedulingPolicy
        public var balancing: BalancingPolicy
        public var voting: VotingPolicy
        public var checkpoints: CheckpointPolicy?
    }
}

extension Scenario: Codable {
    enum CodingKeys: String, CodingKey {
        case name, topology, policies, workload, faults, network, phases, budgets
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let topology = try container.decode(ScenarioFile.Topology.self, forKey: .topology)
        let policies = try container.decode(ScenarioFile.Policies.self, forKey: .policies)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            cluster: ClusterSpec(
                regions: topology.regions, proxiesPerRegion: topology.proxiesPerRegion, llmEndpoints: topology.llmEndpoints,
                scheduling: policies.scheduling, balancing: policies.balancing, voting: policies.voting,
                workerConcurrency: topology.workerConcurrency, workerQueue: topology.workerQueue, workerRetries: topology.workerRetries,
                openTasksMax: topology.openTasksMax, checkpoints: policies.checkpoints ?? .perNode, timings: topology.timings ?? RecoveryTimings()),
            llm: topology.llm,
            workload: try container.decode(Workload.self, forKey: .workload),
            faults: try container.decode(FaultSpec.self, forKey: .faults),
            network: try container.decode(NetworkConfig.self, forKey: .network),
            phases: try container.decode(Phases.self, forKey: .phases),
            budgets: try container.decodeIfPresent(Budgets.self, forKey: .budgets))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(
            ScenarioFile.Topology(
                regions: cluster.regions, proxiesPerRegion: cluster.proxiesPerRegion, llmEndpoints: cluster.llmEndpoints, llm: llm,
                workerConcurrency: cluster.workerConcurrency, workerQueue: cluster.workerQueue, workerRetries: cluster.workerRetries,
                openTasksMax: cluster.openTasksMax, timings: cluster.timings == RecoveryTimings() ? nil : cluster.timings),
            forKey: .topology)
        try container.encode(
            ScenarioFile.Policies(
                scheduling: cluster.scheduling, balancing: cluster.balancing, voting: cluster.voting,
                checkpoints: cluster.checkpoints == .perNode ? nil : cluster.checkpoints),
            forKey: .policies)
        try container.encode(workload, forKey: .workload)
        try container.encode(faults, forKey: .faults)
        try container.encode(network, forKey: .network)
        try container.encode(phases, forKey: .phases)
        try container.encodeIfPresent(budgets, forKey: .budgets)
    }
}
