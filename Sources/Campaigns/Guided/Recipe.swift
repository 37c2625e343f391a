import Foundation
import Scenarios
import Sim

/// How to make one run of a guided search: a seed, plus the moments its randomness is drawn
/// afresh (`FaultAction.reseed`). With no reseeds it is the plain seed's run. A reseed at `at`
/// keeps everything before `at` as the run it branches from had it, and re-draws the rest:
/// the network's and every node's randomness, and with `redrawsFaults` the fault plan too
/// (the faults that begin from `at` on are drawn from the reseed's seed; those begun before it
/// keep their undo).
public struct Recipe: Hashable, Sendable, CustomStringConvertible {
    public struct Reseed: Hashable, Sendable {
        public var at: Instant
        public var seed: UInt64
        public var redrawsFaults: Bool

        public init(at: Instant, seed: UInt64, redrawsFaults: Bool = false) {
            self.at = at
            self.seed = seed
            self.redrawsFaults = redrawsFaults
        }

        /// `AT:SEED`, or `AT:SEED:faults` when it draws the faults afresh too.
        public var text: String { "\(at.nanoseconds):\(seed)" + (redrawsFaults ? ":faults" : "") }
    }

    public var seed: UInt64
    /// In time order.
    public var reseeds: [Reseed]

    public init(seed: UInt64, reseeds: [Reseed] = []) {
        self.seed = seed
        self.reseeds = reseeds
    }

    /// `SEED`, then `@AT:SUBSEED` (or `@AT:SUBSEED:faults`) per reseed (`AT` in virtual
    /// nanoseconds): what a child is handed.
    public var description: String {
        ([String(seed)] + reseeds.map(\.text)).joined(separator: "@")
    }

    /// The recipe `description` wrote; nil for anything else.
    public init?(text: String) {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard let first = parts.first, let seed = UInt64(first) else { return nil }
        var reseeds: [Reseed] = []
        for part in parts.dropFirst() {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 2 || (fields.count == 3 && fields[2] == "faults"), let at = Int64(fields[0]), at >= 0,
                let sub = UInt64(fields[1])
            else { return nil }
            if let last = reseeds.last, last.at.nanoseconds > at { return nil }
            reseeds.append(Reseed(at: .nanoseconds(at), seed: sub, redrawsFaults: fields.count == 3))
        }
        self.init(seed: seed, reseeds: reseeds)
    }

    /// This recipe branched once more at `at`: its reseeds before `at`, then the new one.
    public func branched(at: Instant, seed sub: UInt64, redrawsFaults: Bool = false) -> Recipe {
        Recipe(seed: seed, reseeds: reseeds.filter { $0.at < at } + [Reseed(at: at, seed: sub, redrawsFaults: redrawsFaults)])
    }

    /// The run's timeline: the seed's own faults (drawn afresh from each reseed that says so),
    /// and the reseeds among them.
    public func faults(for scenario: Scenario) -> [FaultEntry] {
        let redrawn = reseeds.filter(\.redrawsFaults).map { (at: $0.at, seed: $0.seed) }
        let planned = ScenarioRun.plannedFaults(scenario: scenario, seed: seed, redrawn: redrawn)
        guard !reseeds.isEmpty else { return planned }
        return FaultPlanner.sortedStable(planned + reseeds.map { FaultEntry(at: $0.at, action: .reseed(seed: $0.seed)) })
    }

    /// Its branch points as `agentos run` takes them: `--branch AT:SEED` each.
    public var branchArguments: [String] {
        reseeds.flatMap { ["--branch", $0.text] }
    }

    /// The command that re-runs it (`agentos run --branch`).
    public func rerun(scenario: String) -> String {
        (["agentos run --scenario \(scenario) --seed \(seed)"] + branchArguments).joined(separator: " ")
    }
}
