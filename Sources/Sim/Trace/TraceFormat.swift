import Foundation

/// The first line of a trace file: everything needed to run the same simulation again.
public struct TraceHeader<Config: Codable>: Codable {
    public static var currentFormat: String { "agentos-sim-trace" }
    /// 2: the trace hash is `TraceHash` (one step per word); version 1 hashed with FNV-1a.
    /// The event lines are the same in both, so a version-1 trace still replays event by event.
    public static var currentVersion: Int { 2 }
    /// The oldest version this build reads.
    public static var oldestReadableVersion: Int { 1 }
    /// The first version whose end-line hash this build computes.
    public static var currentHashVersion: Int { 2 }

    public var format: String
    public var version: Int
    /// Which world built the run (`kernel-demo`, a scenario world, ...); replay dispatches on it.
    public var world: String
    /// A string, not a JSON number: seeds use all 64 bits and some JSON readers keep only 53.
    public var seed: String
    public var network: NetworkConfig
    public var faults: [FaultEntry]
    public var config: Config

    public init(world: String, seed: UInt64, network: NetworkConfig, faults: [FaultEntry], config: Config) {
        self.format = Self.currentFormat
        self.version = Self.currentVersion
        self.world = world
        self.seed = String(seed)
        self.network = network
        self.faults = faults
        self.config = config
    }

    public var seedValue: UInt64? { UInt64(seed) }
}

/// The last line of a complete trace. Its absence means the file was cut short.
public struct TraceFooter: Codable, Equatable, Sendable {
    public var end: Bool
    public var events: UInt64
    public var steps: UInt64
    public var time: Instant
    public var hash: String
}

/// The end line: the footer's fields and, after them in key order (`snapshot` sorts after `end`,
/// so the line still starts with `{"end"`), the world's optional final snapshot.
struct FooterLine<Snapshot: Encodable>: Encodable {
    var footer: TraceFooter
    var snapshot: Snapshot?

    enum CodingKeys: String, CodingKey { case end, events, steps, time, hash, snapshot }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(footer.end, forKey: .end)
        try container.encode(footer.events, forKey: .events)
        try container.encode(footer.steps, forKey: .steps)
        try container.encode(footer.time, forKey: .time)
        try container.encode(footer.hash, forKey: .hash)
        try container.encodeIfPresent(snapshot, forKey: .snapshot)
    }
}

/// One event as a JSON object, keys sorted so the same event always renders to the same line;
/// a reader of a trace decodes its lines back into it.
public struct EventLine<W: SimWorld>: Codable {
    public var i: UInt64
    public var t: Instant
    public var k: String
    public var id: UInt64?
    public var copy: UInt64?
    public var from: String?
    public var to: String?
    public var node: String?
    public var inc: UInt32?
    public var reason: String?
    public var msg: W.Message?
    public var timer: W.Timer?
    public var obs: W.Observation?
    public var fault: FaultAction?
}

/// Renders trace entries as canonical JSON Lines, with node names instead of indices.
public struct TraceRenderer<W: SimWorld> {
    let names: [String]
    let encoder: JSONEncoder

    public init(names: [String]) {
        self.names = names
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    public func render(_ entry: TraceEntry<W>) -> String {
        var line = EventLine<W>(i: entry.index, t: entry.time, k: entry.event.kind)
        switch entry.event {
        case .send(let id, let from, let to, let message):
            line.id = id; line.from = names[from.index]; line.to = names[to.index]; line.msg = message
        case .deliver(let id, let from, let to):
            line.id = id; line.from = names[from.index]; line.to = names[to.index]
        case .drop(let id, let from, let to, let reason):
            line.id = id; line.from = names[from.index]; line.to = names[to.index]; line.reason = reason.rawValue
        case .duplicate(let id, let copy):
            line.id = id; line.copy = copy
        case .hold(let id, let to, let reason):
            line.id = id; line.to = names[to.index]; line.reason = reason.rawValue
        case .timer(let node, let timer):
            line.node = names[node.index]; line.timer = timer
        case .start(let node, let incarnation):
            line.node = names[node.index]; line.inc = incarnation
        case .fault(let action):
            line.fault = action
        case .observe(let node, let observation):
            line.node = names[node.index]; line.obs = observation
        }
        return encodeLine(line)
    }

    func encodeLine<T: Encodable>(_ value: T) -> String {
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            preconditionFailure("a trace value failed to encode: \(error)")
        }
    }
}

/// Streams a run to a JSON Lines file: header, one line per event, footer. Buffered; nothing
/// is kept in memory beyond the buffer.
public final class TraceWriter<W: SimWorld> {
    private let handle: FileHandle
    private let renderer: TraceRenderer<W>
    private var buffer: [UInt8] = []
    public let path: String

    /// Creates (or truncates) the file, writes the header, and starts recording `simulation`.
    public convenience init<Config: Codable>(path: String, header: TraceHeader<Config>, simulation: Simulation<W>) throws {
        try self.init(path: path, header: header, names: simulation.names)
        simulation.eventSink = { [unowned self] entry in self.write(entry) }
    }

    /// Creates (or truncates) the file and writes the header; the caller feeds `write(_:)`
    /// from its own event sink.
    public init<Config: Codable>(path: String, header: TraceHeader<Config>, names: [String]) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw TraceFileError.cannotWrite(path: path)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw TraceFileError.cannotWrite(path: path) }
        self.handle = handle
        self.path = path
        self.renderer = TraceRenderer(names: names)
        buffer.reserveCapacity(1 << 16)
        append(renderer.encodeLine(header))
    }

    public func write(_ entry: TraceEntry<W>) {
        append(renderer.render(entry))
    }

    private func append(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 16 { flush() }
    }

    private func flush() {
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the footer and closes the file. A trace without a footer reads as truncated.
    public func finish(simulation: Simulation<W>) throws {
        try finish(simulation: simulation, snapshot: Optional<Int>.none)
    }

    /// Writes the footer with the world's final `snapshot` (what a judge of the events needs
    /// besides them, such as the store's rows), and closes the file. The snapshot is not part
    /// of the trace hash.
    public func finish<Snapshot: Encodable>(simulation: Simulation<W>, snapshot: Snapshot?) throws {
        simulation.eventSink = nil
        let footer = TraceFooter(
            end: true, events: simulation.eventCount, steps: simulation.stepCount, time: simulation.now, hash: simulation.fingerprintHex)
        append(renderer.encodeLine(FooterLine(footer: footer, snapshot: snapshot)))
        flush()
        try handle.close()
    }
}
