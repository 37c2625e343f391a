// Stores that break the fencing rules in small, plausible ways.
import Core
import GRDB
@_spi(PlantedBugs) import SQLiteStore
import Determinism

/// A store that applies a stale progress write when the node has no row yet.
public struct StaleAcceptingStore: CoreMachine {
    var inner: StoreNode

    public init(inner: StoreNode) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        if case .message(let from, .storeRequest(let id, .saveProgress(let task, let node, let epoch, let result, let digest))) = input,
            let record = try? inner.store.getTask(task), record.epoch != epoch, (try? inner.store.getProgress(task, node: node)) == nil
        {
            // Through the store's own write path, so its read cache forgets the task's count.
            try? (inner.store as! TaskStore).writing(task: task, taskRow: false) { db in
                try db.execute(
                    sql: "INSERT INTO Progress (task_id, node_id, global_epoch, regional_epoch, result, input_digest) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [task, node, epoch.global, epoch.regional, result, digest])
            }
            let outcome = WriteOutcome.applied(current: record.epoch, repeated: false)
            let kind = WriteKind.progress(node: node, resultDigest: FNV64.hex(FNV64.hash(result)), inputDigest: digest)
            return verdict(task: task, kind, epoch: epoch, before: record.epoch, outcome: outcome, to: from, requestID: id)
        }
        return inner.handle(input, context: context, random: &random)
    }
}

/// A store that compares epochs regional part first (a swapped tuple comparison): every
/// failover claim `(g+1, 0)` over `(g, r)` with r >= 1 is refused. While failed regions come
/// back, tasks simply wait for them; only a region lost for good shows the bug.
public struct RegionalFirstStore: CoreMachine {
    var inner: StoreNode

    public init(inner: StoreNode) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        if case .message(let from, .storeRequest(let id, .claim(let task, let epoch, let region, let owner))) = input,
            let record = try? inner.store.getTask(task), !record.status.isFinished,
            (epoch.regional, epoch.global) <= (record.epoch.regional, record.epoch.global)
        {
            let outcome = WriteOutcome.rejected(current: record.epoch, reason: .notNewer)
            return verdict(task: task, .claim(region: region, owner: owner), epoch: epoch, before: record.epoch, outcome: outcome, to: from, requestID: id)
        }
        return inner.handle(input, context: context, random: &random)
    }
}

/// A store whose claim check is "not older" instead of "strictly newer": a second claimer at
/// the same epoch wins too, so two owners hold one epoch. Only racing claimers show it.
public struct EqualClaimStore: CoreMachine {
    var inner: StoreNode

    public init(inner: StoreNode) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        if case .message(let from, .storeRequest(let id, .claim(let task, let epoch, let region, let owner))) = input,
            let record = try? inner.store.getTask(task), !record.status.isFinished, record.epoch == epoch,
            record.ownerRegion != region.name || record.owner != owner
        {
            let proxy = owner?.description ?? ""
            // Through the store's own write path, so its read cache forgets the row.
            try? (inner.store as! TaskStore).writing(task: task) { db in
                try db.execute(
                    sql: "UPDATE Tasks SET owner_region = ?, owner_proxy = ?, status = ? WHERE task_id = ?",
                    arguments: [region.name, proxy, proxy.isEmpty ? record.status.rawValue : "running", task])
            }
            let outcome = WriteOutcome.applied(current: epoch, repeated: false)
            return verdict(task: task, .claim(region: region, owner: owner), epoch: epoch, before: record.epoch, outcome: outcome, to: from, requestID: id)
        }
        return inner.handle(input, context: context, random: &random)
    }
}

/// A store that fences an owner's finish on the global epoch alone: an owner the region has
/// replaced (a newer regional epoch) can still finish the task, as long as no other region
/// took it. Only an owner that is cut off while its region hands the task on, and that then
/// finishes before it hears, shows it.
public struct GlobalOnlyFinishStore: CoreMachine {
    var inner: StoreNode

    public init(inner: StoreNode) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        if case .message(let from, .storeRequest(let id, .finish(let task, let epoch, let outcome))) = input,
            let record = try? inner.store.getTask(task), !record.status.isFinished, record.epoch.global == epoch.global,
            epoch.regional < record.epoch.regional
        {
            // Applied through the store's own path at the current epoch; observed, as a real
            // store would log it, with the epoch the request carried.
            let effects = inner.handle(.message(from: from, .storeRequest(requestID: id, .finish(task, epoch: record.epoch, outcome: outcome))), context: context, random: &random)
            return effects.map { effect in
                if case .observe(.write(let task, let kind, _, let before, let result)) = effect {
                    return .observe(.write(task: task, request: kind, epoch: epoch, before: before, outcome: result))
                }
                return effect
            }
        }
        return inner.handle(input, context: context, random: &random)
    }
}

/// A write the broken store decided itself: the observation a real store logs, and its reply.
func verdict(task: TaskID, _ kind: WriteKind, epoch: Epoch, before: Epoch, outcome: WriteOutcome, to: Address, requestID: UInt64) -> [CoreEffect] {
    [
        .observe(.write(task: task, request: kind, epoch: epoch, before: before, outcome: outcome)),
        .send(to: to, .storeReply(requestID: requestID, .write(outcome))),
    ]
}
