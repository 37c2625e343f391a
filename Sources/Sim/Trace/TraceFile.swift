import Foundation

/// A trace file that cannot be used, described in one line.
public enum TraceFileError: Error, CustomStringConvertible, Equatable {
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String)
    case empty(path: String)
    case malformedHeader(reason: String)
    case notATrace(format: String)
    case unsupportedVersion(found: Int, supported: Int)
    case worldMismatch(found: String, expected: String)
    case unknownWorld(String)
    case configDoesNotParse(reason: String)
    case malformedEvent(line: Int, reason: String)
    case truncated(eventsRead: Int)
    case footerMismatch(reason: String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): "cannot read trace '\(path)': \(reason)"
        case .cannotWrite(let path): "cannot write trace '\(path)'"
        case .empty(let path): "trace '\(path)' is empty"
        case .malformedHeader(let reason): "trace header is not valid JSON: \(reason)"
        case .notATrace(let format): "not an agentos trace (format '\(format)')"
        case .unsupportedVersion(let found, let supported):
            "trace format version \(found) is not supported (this build reads versions \(TraceHeader<Int>.oldestReadableVersion) to \(supported))"
        case .worldMismatch(let found, let expected): "trace is of world '\(found)', expected '\(expected)'"
        case .unknownWorld(let world): "trace is of unknown world '\(world)'"
        case .configDoesNotParse(let reason): "trace configuration does not parse: \(reason)"
        case .malformedEvent(let line, let reason): "trace line \(line) is not a valid event: \(reason)"
        case .truncated(let eventsRead):
            "trace is truncated: no end line after \(eventsRead) events (the run was cut short or the file was cut)"
        case .footerMismatch(let reason): "trace end line does not match its events: \(reason)"
        }
    }
}

/// The end line's snapshot field alone.
private struct SnapshotLine<Snapshot: Decodable>: Decodable {
    var snapshot: Snapshot?
}

/// A trace read back from disk: the header (decoded on demand), the event lines and the footer.
public struct RecordedTrace: Sendable {
    public let headerLine: String
    public let eventLines: [String]
    public let footer: TraceFooter
    /// The end line as written, with the world's final snapshot if it wrote one.
    public let footerLine: String
    public let world: String
    /// The header's format version.
    public let version: Int

    /// Whether the end line's hash was computed the way this build computes it; a trace of an
    /// older hash format can only be compared event by event.
    public var hashComparable: Bool { version >= TraceHeader<Int>.currentHashVersion }

    private struct Probe: Decodable {
        var format: String
        var version: Int
        var world: String
    }

    private struct EventProbe: Decodable {
        var i: UInt64
        var t: Instant
        var k: String
    }

    /// Reads and checks a whole trace file: header format and version, every event line, footer.
    public static func load(path: String) throws -> RecordedTrace {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "unreadable" : "no such file"
            throw TraceFileError.cannotRead(path: path, reason: reason)
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String = "<memory>") throws -> RecordedTrace {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        guard let headerLine = lines.first, !headerLine.isEmpty else { throw TraceFileError.empty(path: path) }
        let decoder = JSONDecoder()
        let probe: Probe
        do {
            probe = try decoder.decode(Probe.self, from: Data(headerLine.utf8))
        } catch {
            throw TraceFileError.malformedHeader(reason: oneLine(error))
        }
        guard probe.format == TraceHeader<Int>.currentFormat else { throw TraceFileError.notATrace(format: probe.format) }
        guard (TraceHeader<Int>.oldestReadableVersion...TraceHeader<Int>.currentVersion).contains(probe.version) else {
            throw TraceFileError.unsupportedVersion(found: probe.version, supported: TraceHeader<Int>.currentVersion)
        }
        var events: [String] = []
        events.reserveCapacity(lines.count)
        var footer: TraceFooter?
        var footerLine = ""
        for (offset, line) in lines.dropFirst().enumerated() {
            let lineNumber = offset + 2
            guard footer == nil else {
                throw TraceFileError.malformedEvent(line: lineNumber, reason: "text after the end line")
            }
            let bytes = Data(line.utf8)
            if line.hasPrefix("{\"end\"") {
                do {
                    footer = try decoder.decode(TraceFooter.self, from: bytes)
                    footerLine = line
                    continue
                } catch {
                    throw TraceFileError.malformedEvent(line: lineNumber, reason: oneLine(error))
                }
            }
            let event: EventProbe
            do {
                event = try decoder.decode(EventProbe.self, from: bytes)
            } catch {
                throw TraceFileError.malformedEvent(line: lineNumber, reason: oneLine(error))
            }
            guard event.i == UInt64(events.count) else {
                throw TraceFileError.malformedEvent(line: lineNumber, reason: "index \(event.i), expected \(events.count)")
            }
            events.append(line)
        }
        guard let footer else { throw TraceFileError.truncated(eventsRead: events.count) }
        guard footer.events == UInt64(events.count) else {
            throw TraceFileError.footerMismatch(reason: "it counts \(footer.events) events, the file holds \(events.count)")
        }
        return RecordedTrace(
            headerLine: headerLine, eventLines: events, footer: footer, footerLine: footerLine, world: probe.world, version: probe.version)
    }

    /// The world's final snapshot from the end line, decoded as `Snapshot`; nil if the run that
    /// wrote the trace recorded none.
    public func snapshot<Snapshot: Decodable>(as _: Snapshot.Type) throws -> Snapshot? {
        do {
            return try JSONDecoder().decode(SnapshotLine<Snapshot>.self, from: Data(footerLine.utf8)).snapshot
        } catch {
            throw TraceFileError.malformedEvent(line: eventLines.count + 2, reason: "the end line's snapshot: \(oneLine(error))")
        }
    }

    /// The events a reader of a run usually wants, typed: faults, node starts and observations
    /// (messages and timers are left out). Decoded with the world's own types, so callers
    /// match on values, never on the JSON text.
    public func readableEvents<W: SimWorld>(_: W.Type) throws -> [RecordedEvent<W>] {
        let decoder = JSONDecoder()
        var events: [RecordedEvent<W>] = []
        for (offset, line) in eventLines.enumerated() {
            let lineNumber = offset + 2
            // Skip the kinds this reader does not return without decoding their payloads.
            guard line.contains("\"k\":\"fault\"") || line.contains("\"k\":\"start\"") || line.contains("\"k\":\"observe\"") else { continue }
            do {
                let raw = try decoder.decode(EventLine<W>.self, from: Data(line.utf8))
                let kind: RecordedEvent<W>.Kind
                switch raw.k {
                case "fault": kind = .fault(try raw.fault.orThrow("fault"))
                case "start": kind = .start(node: try raw.node.orThrow("node"), incarnation: try raw.inc.orThrow("inc"))
                case "observe": kind = .observe(node: try raw.node.orThrow("node"), try raw.obs.orThrow("obs"))
                default: continue
                }
                events.append(RecordedEvent(index: raw.i, time: raw.t, kind: kind))
            } catch {
                throw TraceFileError.malformedEvent(line: lineNumber, reason: oneLine(error))
            }
        }
        return events
    }

    /// The header decoded with the world's configuration type.
    public func header<Config: Codable>(as _: Config.Type) throws -> TraceHeader<Config> {
        do {
            let header = try JSONDecoder().decode(TraceHeader<Config>.self, from: Data(headerLine.utf8))
            guard header.seedValue != nil else {
                throw TraceFileError.configDoesNotParse(reason: "seed '\(header.seed)' is not an unsigned 64-bit integer")
            }
            return header
        } catch let error as TraceFileError {
            throw error
        } catch {
            throw TraceFileError.configDoesNotParse(reason: oneLine(error))
        }
    }
}

/// One event of a recorded trace, typed (see `RecordedTrace.readableEvents`).
public struct RecordedEvent<W: SimWorld> {
    public enum Kind {
        case fault(FaultAction)
        case start(node: String, incarnation: UInt32)
        case observe(node: String, W.Observation)
    }

    public let index: UInt64
    public let time: Instant
    public let kind: Kind
}

extension Optional {
    func orThrow(_ field: String) throws -> Wrapped {
        guard let self else { throw DecodingError.valueNotFound(Wrapped.self, .init(codingPath: [], debugDescription: "missing '\(field)'")) }
        return self
    }
}
