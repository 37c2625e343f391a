import Core

/// The store operations the crash table crashes inside, as the store node sees them.
public enum StoreOperationKind: String, CaseIterable, Codable, Hashable, Sendable, Comparable {
    case create
    /// The gateway's claim of a task for a region (no proxy owns it yet).
    case claimForRegion = "claim-for-region"
    /// A proxy's claim of a task it will run.
    case claimByProxy = "claim-by-proxy"
    /// A node's result.
    case saveProgress = "save-progress"
    /// A decided round's winning plan (per-round checkpoints).
    case saveRound = "save-round"
    /// A task's completion.
    case finish
    /// A task's abort: its owner's final write with a cause, or the gateway's when no region serves.
    case abort
    /// A client's status read served by a store process that restarted.
    case statusAfterRestart = "status-after-restart"

    /// The kind of `request`; `restarted`: the store process serving it is not its first life.
    /// Nil for the reads the table does not list (a status read before any restart, sweeps).
    public init?(_ request: StoreRequest, restarted: Bool) {
        switch request {
        case .createTask: self = .create
        case .claim(_, _, _, let owner): self = owner == nil ? .claimForRegion : .claimByProxy
        case .saveProgress(_, let node, _, _, _): self = RoundCheckpoint.parse(node) == nil ? .saveProgress : .saveRound
        case .finish(_, _, .completed): self = .finish
        case .finish(_, _, .aborted): self = .abort
        case .abort: self = .abort
        case .taskStatus where restarted: self = .statusAfterRestart
        default: return nil
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)! }
}

/// How the crash lands at a boundary.
public enum CrashVariant: String, CaseIterable, Codable, Hashable, Sendable {
    /// Power lost just before the boundary.
    case before
    /// Power lost just after it.
    case after
    /// The boundary's write lands in part, then the power goes (writes only).
    case torn
    /// The store process is killed just after it; the OS keeps what it wrote.
    case kill
}

/// Where a crash-table run crashes: inside one operation (the `ordinal`-th of its kind in the
/// survey run, counting from 1) at one of its durable boundaries, or after its reply went out.
public struct CrashPoint: Codable, Hashable, Sendable, CustomStringConvertible {
    public enum Place: Codable, Hashable, Sendable {
        /// At the operation's `index`-th durable boundary (from 1).
        case boundary(index: Int, DiskBoundary, CrashVariant)
        /// The operation made no durable change: the process dies as it receives it.
        case onReceipt
        /// Power lost right after the reply was sent: what the acknowledgment left unsynced goes.
        case afterAcknowledgment
    }

    public var operation: StoreOperationKind
    public var ordinal: Int
    public var place: Place

    public init(operation: StoreOperationKind, ordinal: Int, place: Place) {
        self.operation = operation
        self.ordinal = ordinal
        self.place = place
    }

    /// The boundary column of the table.
    public var boundaryLabel: String {
        switch place {
        case .boundary(let index, let boundary, _): "#\(index) \(boundary)"
        case .onReceipt: "on receipt"
        case .afterAcknowledgment: "after the reply"
        }
    }

    /// The variant column of the table.
    public var variantLabel: String {
        switch place {
        case .boundary(_, _, let variant): variant.rawValue
        case .onReceipt: "power loss"
        case .afterAcknowledgment: "power loss"
        }
    }

    public var description: String { "\(operation.rawValue) #\(ordinal) at \(boundaryLabel), \(variantLabel)" }

    /// What the probe does at the operation's `index`-th boundary.
    func action(at index: Int, _ boundary: DiskBoundary) -> BoundaryAction {
        guard case .boundary(let target, _, let variant) = place, target == index else { return .proceed }
        switch variant {
        case .before: return .powerLossBefore
        case .after: return .powerLossAfter
        // Half the write's sectors land (none of a one-sector write: its extent, zeroed).
        case .torn: return .tornWrite(sectors: boundary.length / 512 / 2)
        case .kill: return .killAfter
        }
    }
}

/// What became of the operation a crash cut, judged from the store as SQLite recovered it.
public enum CrashOutcome: String, Codable, Hashable, Sendable, CaseIterable {
    /// Never acknowledged and not in the store: as if it never came; its caller sends it again.
    case absent = "not acknowledged, absent"
    /// Not acknowledged and not in the store, and its caller sent it again and the store ran it.
    case reExecuted = "re-executed"
    /// Committed before the crash, though its reply never went out: the caller's retry finds it.
    case keptUnacknowledged = "kept, not acknowledged"
    case keptAcknowledged = "acknowledged, kept"
    /// An acknowledged write (this one or an earlier one) is not in the recovered store.
    case lost = "acknowledged, lost"
}
