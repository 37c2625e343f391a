import Foundation
import Server

/// `cluster-test --record DIR`: what really happened in a run, kept for the simulator and for
/// later judging. DIR holds the proxies' LLM calls as cassettes (`b/`, `c/`: each serve process
/// records its own, `serve --record`), the clients' arrivals and requests, the faults as they
/// struck, every role's history, the fake LLM's call log, the store's final file, the cluster's
/// layout and the fake LLM's configuration; `agentos check DIR` judges it as it judges a kept
/// run folder. Never the role secret, the cluster's private keys or a store URL.
public enum ClusterRecording {
    public static let faultsFileName = "faults.jsonl"
    public static let runFileName = "recording.json"
    /// The processes whose serve records its LLM calls: the ones hosting proxies.
    static let recordingProcesses = ["b", "c"]

    /// One fault as it struck: seconds from the start of the run, its kind, how long it lasted,
    /// what it did, and for link faults each link's cut, loss or delay.
    public struct FaultRecord: Codable, Sendable {
        public var atSeconds: Double
        public var kind: String
        public var description: String
        public var seconds: Double
        public var effect: String?
        public var links: [LinkRecord]?
        public var flapMillis: Int?

        enum CodingKeys: String, CodingKey {
            case kind, description, seconds, effect, links
            case atSeconds = "at_s"
            case flapMillis = "flap_ms"
        }

        init(_ step: FaultStep, atSeconds: Double, effect: String?) {
            self.atSeconds = atSeconds
            kind = step.fault.name
            description = step.description
            seconds = step.seconds
            self.effect = effect
            flapMillis = step.flapMillis
            let links = LinkPlane.allLinks.compactMap { link -> LinkRecord? in
                let muted = step.links.muted.contains(link)
                let loss = step.links.lossPercent[link]
                let delay = step.links.delay[link]
                guard muted || loss != nil || delay != nil else { return nil }
                return LinkRecord(
                    from: link.from, to: link.to, muted: muted, lossPercent: loss, delayMillis: delay?.baseMillis, jitterMillis: delay?.jitterMillis)
            }
            self.links = links.isEmpty ? nil : links
        }
    }

    /// What a link fault did to one direction of one link.
    public struct LinkRecord: Codable, Sendable {
        public var from: String
        public var to: String
        public var muted: Bool
        public var lossPercent: Int?
        public var delayMillis: Int?
        public var jitterMillis: Int?

        enum CodingKeys: String, CodingKey {
            case from, to, muted
            case lossPercent = "loss_percent"
            case delayMillis = "delay_ms"
            case jitterMillis = "jitter_ms"
        }
    }

    /// The run's settings and outcome, in a line each.
    public struct Summary: Codable, Sendable {
        public var seed: UInt64
        public var speedup: Int64
        public var durationSeconds: Int
        public var clients: Int
        public var requestsPerClient: Int
        public var network: String
        public var faultKinds: [String]
        public var passed: Bool
        public var failedChecks: [String]
        public var converged: Bool
        /// The planted bugs the processes ran, if any (tests of the harness and of the replay).
        public var plantedBug: String?
        public var plantedCoreBug: String?
        /// Each process's roles, by the simulator's node names (`a`: store, gateway, regions).
        public var processes: [String: [String]]
    }

    /// Copies the run's files from `folder` into `directory` (where the serve processes already
    /// wrote their cassettes) and writes the faults and the summary.
    static func write(to directory: String, folder: String, faults: [FaultRecord], summary: Summary) throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func source(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        func target(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        let copied =
            ClusterUnderTest.historyFileNames + [
                ClusterUnderTest.callsFileName, ClusterUnderTest.clientsFileName, ClusterRunFacts.fileName, "cluster.json", "llm.json",
            ] + ["", "-wal", "-shm"].map { ClusterUnderTest.storeFileName + $0 }
        for name in copied where manager.fileExists(atPath: source(name)) {
            try manager.createDirectory(atPath: (target(name) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? manager.removeItem(atPath: target(name))
            try manager.copyItem(atPath: source(name), toPath: target(name))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var lines = Data()
        for fault in faults {
            lines.append(try encoder.encode(fault))
            lines.append(0x0A)
        }
        try lines.write(to: URL(fileURLWithPath: target(faultsFileName)))
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(summary).write(to: URL(fileURLWithPath: target(runFileName)))
    }
}
