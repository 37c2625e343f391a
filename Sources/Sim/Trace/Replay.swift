/// Where two runs that should be identical first differ.
public struct Divergence: Sendable, CustomStringConvertible {
    /// Index of the first differing event.
    public let index: UInt64
    /// Virtual time of the replayed event (or of the recorded one if the replay ran out).
    public let time: Instant?
    /// The recorded (or first run's) event line; nil if that run had no event at this index.
    public let expected: String?
    /// The replayed (or second run's) event line; nil if that run had no event at this index.
    public let actual: String?

    public var description: String {
        var text = "first divergence at event \(index)"
        if let time { text += " (t=\(time))" }
        text += "\n  expected: \(expected ?? "<no event>")\n  actual:   \(actual ?? "<no event>")"
        return text
    }
}

/// The verdict of an exact replay.
public struct ReplayReport: Sendable {
    public let identical: Bool
    public let recordedEvents: UInt64
    public let replayedEvents: UInt64
    public let recordedHash: String
    public let replayedHash: String
    /// False for a trace of an older hash format: then `identical` means every event matched.
    public let hashCompared: Bool
    public let divergence: Divergence?
}

public enum TraceReplay {
    /// Re-runs `simulation` (built from the trace header) with `drive`, comparing every event
    /// with the recorded line at the same index, and stops at the first difference.
    public static func compare<W>(
        _ recorded: RecordedTrace, simulation: Simulation<W>, drive: (Simulation<W>) -> Void
    ) -> ReplayReport {
        let renderer = TraceRenderer<W>(names: simulation.names)
        var divergence: Divergence?
        // The run's own sink (its observers, its liveness condition's bookkeeping) keeps working.
        let previous = simulation.eventSink
        simulation.eventSink = { entry in
            previous?(entry)
            guard divergence == nil else { return }
            let actual = renderer.render(entry)
            let index = Int(entry.index)
            let expected = index < recorded.eventLines.count ? recorded.eventLines[index] : nil
            if expected != actual {
                divergence = Divergence(index: entry.index, time: entry.time, expected: expected, actual: actual)
                simulation.requestStop()
            }
        }
        drive(simulation)
        simulation.eventSink = previous
        let replayedEvents = simulation.eventCount
        if divergence == nil, replayedEvents < UInt64(recorded.eventLines.count) {
            // The replay ended early: the first recorded event it never produced is the divergence.
            divergence = Divergence(
                index: replayedEvents, time: nil, expected: recorded.eventLines[Int(replayedEvents)], actual: nil)
        }
        let replayedHash = simulation.fingerprintHex
        let hashMatches = !recorded.hashComparable || replayedHash == recorded.footer.hash
        return ReplayReport(
            identical: divergence == nil && hashMatches,
            recordedEvents: recorded.footer.events, replayedEvents: replayedEvents,
            recordedHash: recorded.footer.hash, replayedHash: replayedHash, hashCompared: recorded.hashComparable,
            divergence: divergence)
    }
}

/// The verdict of running one seed twice in one process.
public struct DeterminismReport: Sendable {
    public let identical: Bool
    public let firstHash: String
    public let secondHash: String
    public let events: UInt64
    public let divergence: Divergence?
}

public enum Determinism {
    /// Builds and drives the same simulation twice, keeping every rendered event, and reports
    /// the first event where the runs differ. Meant for tests: it keeps the whole trace.
    public static func runTwice<W>(
        make: () throws -> Simulation<W>, drive: (Simulation<W>) -> Void
    ) rethrows -> DeterminismReport {
        func record() throws -> (lines: [String], times: [Instant], hash: String) {
            let simulation = try make()
            let renderer = TraceRenderer<W>(names: simulation.names)
            var lines: [String] = []
            var times: [Instant] = []
            let previous = simulation.eventSink
            simulation.eventSink = { entry in
                previous?(entry)
                lines.append(renderer.render(entry))
                times.append(entry.time)
            }
            drive(simulation)
            simulation.eventSink = previous
            return (lines, times, simulation.fingerprintHex)
        }
        let first = try record()
        let second = try record()
        var divergence: Divergence?
        let count = max(first.lines.count, second.lines.count)
        for index in 0..<count {
            let a = index < first.lines.count ? first.lines[index] : nil
            let b = index < second.lines.count ? second.lines[index] : nil
            if a != b {
                let time = index < second.times.count ? second.times[index] : first.times[index]
                divergence = Divergence(index: UInt64(index), time: time, expected: a, actual: b)
                break
            }
        }
        return DeterminismReport(
            identical: divergence == nil && first.hash == second.hash, firstHash: first.hash, secondHash: second.hash,
            events: UInt64(first.lines.count), divergence: divergence)
    }
}
