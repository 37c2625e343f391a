import Checks
import Core
import Sim

/// One store operation as the survey run saw it: its kind and place among its kind, when it
/// ran, the durable boundaries it went through, and whether it changed anything.
public struct SurveyedOperation: Codable, Hashable, Sendable {
    public var kind: StoreOperationKind
    public var ordinal: Int
    public var time: Instant
    public var boundaries: [DiskBoundary]
    /// A write the store applied (a new task, an applied claim, save or finish), not a
    /// rejection, a repeat or a read.
    public var applied: Bool
    public var request: StoreRequest
    /// The task a create made (nil for other operations and for a create that made none).
    public var createdTask: TaskID?

    /// The sequence of boundary kinds and files, without write sizes: two operations with the
    /// same pattern crash the same way.
    public var pattern: [String] { boundaries.map { "\($0.kind.rawValue) \($0.file.rawValue)" } }

    public init(
        kind: StoreOperationKind, ordinal: Int, time: Instant, boundaries: [DiskBoundary], applied: Bool, request: StoreRequest, createdTask: TaskID?
    ) {
        self.kind = kind
        self.ordinal = ordinal
        self.time = time
        self.boundaries = boundaries
        self.applied = applied
        self.request = request
        self.createdTask = createdTask
    }
}

/// What a survey or crash run learns from inside the store process: shared by every life of
/// the store node in one run (each life makes a new machine around the reopened store).
final class CrashProbe {
    /// Nil for the survey run, which crashes nowhere and records every operation.
    let target: CrashPoint?
    unowned let disk: SimDisk
    private(set) var surveyed: [SurveyedOperation] = []
    private var counts: [StoreOperationKind: Int] = [:]

    // A crash run's findings.
    /// When the target operation ran; nil while it has not.
    private(set) var crashedAt: Instant?
    /// The store as the target operation found it: every earlier write was acknowledged.
    private(set) var beforeCrash: StoreSnapshot?
    /// The store as SQLite recovered it when the store process restarted after the crash.
    private(set) var recovered: StoreSnapshot?
    /// Why the recovered store could not be read (SQLite opened a damaged file).
    private(set) var recoveryError: String?
    /// Whether the store process came back after the crash.
    private(set) var restartedAfterCrash = false
    /// Whether the crash landed where it was aimed (the boundary was reached).
    private(set) var landed = false
    /// Whether the reply of the target operation went out before the crash.
    private(set) var acknowledged = false
    /// Whether the target's caller sent the same operation again and a later store life ran it.
    private(set) var resent = false
    private var targetRequest: StoreRequest?

    init(target: CrashPoint?, disk: SimDisk) {
        self.target = target
        self.disk = disk
    }

    /// A store life starts with `store` as SQLite reopened it: after the crash, that is the
    /// recovered store the table judges.
    func lifeStarted(store: any TaskStoreBackend) {
        guard crashedAt != nil, !restartedAfterCrash else { return }
        restartedAfterCrash = true
        do {
            recovered = try StoreSnapshot(store: store)
        } catch {
            recoveryError = "\(error)"
        }
    }

    /// Runs `request` through `node`, recording it (survey) or crashing in it (the target).
    /// Returns whether the process died in it: then it must answer nothing from now on.
    func run(
        _ request: StoreRequest, node: inout StoreNode, input: CoreInput, context: CoreContext, into effects: inout [CoreEffect],
        handle: (inout StoreNode, inout [CoreEffect]) -> Void
    ) -> Bool {
        guard let kind = StoreOperationKind(request, restarted: context.incarnation > 1) else {
            noteResend(request, context: context)
            handle(&node, &effects)
            return false
        }
        counts[kind, default: 0] += 1
        let ordinal = counts[kind]!
        guard let target else {
            var boundaries: [DiskBoundary] = []
            disk.onBoundary = { boundary in
                boundaries.append(boundary)
                return .proceed
            }
            let start = effects.count
            handle(&node, &effects)
            disk.onBoundary = nil
            let (applied, created) = Self.judge(effects[start...])
            surveyed.append(
                SurveyedOperation(
                    kind: kind, ordinal: ordinal, time: context.now, boundaries: boundaries, applied: applied, request: request, createdTask: created))
            return false
        }
        guard kind == target.operation, ordinal == target.ordinal, crashedAt == nil else {
            noteResend(request, context: context)
            handle(&node, &effects)
            return false
        }
        crashedAt = context.now
        targetRequest = request
        beforeCrash = try? StoreSnapshot(store: node.store)
        if case .onReceipt = target.place {
            disk.losePowerAfterAcknowledgment()
            landed = true
            return true
        }
        var index = 0
        disk.onBoundary = { boundary in
            index += 1
            return target.action(at: index, boundary)
        }
        let start = effects.count
        handle(&node, &effects)
        disk.onBoundary = nil
        if disk.crashedAtBoundary {
            // A dead process says nothing: its reply and its observations never happened.
            effects.removeSubrange(start...)
            landed = true
            return true
        }
        if case .afterAcknowledgment = target.place {
            acknowledged = true
            disk.losePowerAfterAcknowledgment()
            landed = true
            return true
        }
        // The boundary was never reached (the run went another way than the survey's).
        return true
    }

    /// After the crash, a later life ran the target's operation again: the caller re-sent it.
    private func noteResend(_ request: StoreRequest, context: CoreContext) {
        guard let targetRequest, context.incarnation > 1, !resent else { return }
        resent = Self.sameOperation(request, targetRequest)
    }

    static func sameOperation(_ a: StoreRequest, _ b: StoreRequest) -> Bool {
        switch (a, b) {
        case (.createTask(_, _, _, _, _, let x), .createTask(_, _, _, _, _, let y)): x == y
        case (.claim(let x, _, _, let ox), .claim(let y, _, _, let oy)): x == y && (ox == nil) == (oy == nil)
        case (.saveProgress(let x, let nx, _, _, _), .saveProgress(let y, let ny, _, _, _)): x == y && nx == ny
        case (.finish(let x, _, _), .finish(let y, _, _)), (.abort(let x, _, _), .abort(let y, _, _)): x == y
        case (.finish(let x, _, _), .abort(let y, _, _)), (.abort(let x, _, _), .finish(let y, _, _)): x == y
        case (.taskStatus(let x), .taskStatus(let y)): x == y
        default: false
        }
    }

    /// Whether an operation's effects say it changed the store, and the task a create made.
    public static func judge(_ effects: ArraySlice<CoreEffect>) -> (applied: Bool, created: TaskID?) {
        for effect in effects {
            guard case .observe(let observation) = effect else { continue }
            switch observation {
            case .taskCreated(let task, _, .new): return (true, task)
            case .write(_, _, _, _, .applied(_, repeated: false)): return (true, nil)
            default: continue
            }
        }
        return (false, nil)
    }
}

/// The store node of a survey or crash run: the shipped `StoreNode`, with the probe around
/// each request, and silent from the moment its process died in a crash.
struct CrashProbeStoreMachine: CoreMachine {
    var node: StoreNode
    let probe: CrashProbe
    /// Set when this life died at the crash point: the simulator takes the process down a
    /// nanosecond later, and until then it answers nothing.
    var dead = false

    init(store: any TaskStoreBackend, probe: CrashProbe) {
        node = StoreNode(store: store)
        self.probe = probe
        probe.lifeStarted(store: store)
    }

    mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R, into effects: inout [CoreEffect]) {
        guard !dead else { return }
        guard case .message(_, .storeRequest(_, let request)) = input else {
            node.handle(input, context: context, random: &random, into: &effects)
            return
        }
        dead = probe.run(request, node: &node, input: input, context: context, into: &effects) { node, effects in
            node.handle(input, context: context, random: &random, into: &effects)
        }
    }
}
