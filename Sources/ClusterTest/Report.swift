import Checks
import Foundation

/// What a cluster test found: its run, the checkers' verdicts, and parity with the simulator.
public struct ClusterTestReport: Encodable, Sendable {
    public let seed: UInt64
    public let speedup: Int64
    public let durationSeconds: Int
    public let faults: [String]
    public let requests: Int
    public let acknowledged: Int
    public let finished: Int
    public let taskRows: Int
    public let completed: Int
    public let aborted: Int
    public let network: String
    public let historyEvents: Int
    /// Traced message facts (sends, deliveries, losses and starts of the LLM work family).
    public let messageEvents: Int
    public let converged: Bool
    /// Seconds from the heal to the moment every client had seen all its tasks final (nil: it
    /// did not converge).
    public let recoverySeconds: Double?
    public let crashedProcesses: [String]
    public let checks: [CheckVerdict]
    public let violations: [Violation]
    public let parity: ParityReport?
    public let passed: Bool
    public let folder: String
    /// `--compare-sim`: the run beside its replay in the simulator.
    public var realityGap: RealityGapReport? = nil
}

/// The simulator's side of a parity run.
public struct ParityReport: Encodable, Sendable {
    public let scenario: String
    public let simulatedPassed: Bool
    public let simulatedChecks: [CheckVerdict]
    public let simulatedMean: Double
    public let realMean: Double
    public let ratio: Double
    public let tolerance: Double
    public let agree: Bool
}
