import GRDB

/// A fenced write's verdict, and the epoch the task had before it (nil: no such task).
struct Judged {
    let outcome: WriteOutcome
    let before: Epoch?
}

/// The fenced writes of design section 5, each in one transaction. Each public write has an
/// internal `...Judged` twin that also reports the epoch it found, so the store node can record
/// it without reading the task a second time.
extension TaskStore {
    /// An ownership change: applied only if `epoch` is strictly greater than the stored epoch.
    /// The claim is written before the new owner starts, so the old owner is fenced at once.
    /// A proxy claim (`proxy` non-empty) marks the task running.
    public func claim(_ id: TaskID, epoch: Epoch, region: String, proxy: String) throws -> WriteOutcome {
        try claimJudged(id, epoch: epoch, region: region, proxy: proxy).outcome
    }

    /// A node's result, written by the owner at exactly the current epoch. A node keeps its
    /// first result: the same result again is an idempotent retry, a different one a conflict.
    public func saveProgress(_ id: TaskID, node: String, epoch: Epoch, result: String, inputDigest: String) throws -> WriteOutcome {
        try saveProgressJudged(id, node: node, epoch: epoch, result: result, inputDigest: inputDigest).outcome
    }

    /// The owner's final write at exactly the current epoch: completed with a result, or
    /// aborted with a reason. The response is also stored as a Document.
    public func finish(_ id: TaskID, epoch: Epoch, outcome: TaskOutcome) throws -> WriteOutcome {
        try finishJudged(id, epoch: epoch, outcome: outcome).outcome
    }

    /// The gateway's abort of a task no region or proxy could take: a claim (strictly greater
    /// epoch, which fences every owner) and the final status in one transaction.
    public func abort(_ id: TaskID, epoch: Epoch, cause: AbortCause) throws -> WriteOutcome {
        try abortJudged(id, epoch: epoch, cause: cause).outcome
    }

    private func judged(_ id: TaskID, _ judge: (Database, TaskRecord) throws -> WriteOutcome) throws -> Judged {
        try database.write { db in
            guard let task = try Self.fetchTask(db, id) else { return Judged(outcome: .rejected(current: nil, reason: .noSuchTask), before: nil) }
            return Judged(outcome: try judge(db, task), before: task.epoch)
        }
    }

    func claimJudged(_ id: TaskID, epoch: Epoch, region: String, proxy: String) throws -> Judged {
        try judged(id) { db, task in
            if task.status.isFinished { return .rejected(current: task.epoch, reason: .finished) }
            if task.epoch == epoch, task.ownerRegion == region, task.ownerProxy == proxy {
                return .applied(current: epoch, repeated: true)  // a retry of this very claim
            }
            guard EpochRules.judgeClaim(epoch, current: task.epoch) == .applied else {
                return .rejected(current: task.epoch, reason: .notNewer)
            }
            let status: TaskStatus = proxy.isEmpty ? task.status : .running
            try db.run(
                sql: """
                    UPDATE Tasks SET global_epoch = ?, regional_epoch = ?, owner_region = ?, owner_proxy = ?, status = ?
                    WHERE task_id = ?
                    """, arguments: [epoch.global, epoch.regional, region, proxy, status.rawValue, id])
            return .applied(current: epoch, repeated: false)
        }
    }

    func saveProgressJudged(_ id: TaskID, node: String, epoch: Epoch, result: String, inputDigest: String) throws -> Judged {
        try judged(id) { db, task in
            if let existing = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT * FROM Progress WHERE task_id = ? AND node_id = ?"), arguments: [id, node]
            ).map(Self.progress) {
                if existing.result == result, existing.inputDigest == inputDigest, existing.epoch == epoch {
                    return .applied(current: task.epoch, repeated: true)
                }
                return .rejected(current: task.epoch, reason: epoch == task.epoch ? .conflict : .staleEpoch)
            }
            // Fencing comes before anything else, also when the node has no row yet.
            guard EpochRules.judgeDataWrite(epoch, current: task.epoch) == .applied else {
                return .rejected(current: task.epoch, reason: .staleEpoch)
            }
            if task.status.isFinished { return .rejected(current: task.epoch, reason: .finished) }
            try db.run(
                sql: """
                    INSERT INTO Progress (task_id, node_id, global_epoch, regional_epoch, result, input_digest)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [id, node, epoch.global, epoch.regional, result, inputDigest])
            return .applied(current: task.epoch, repeated: false)
        }
    }

    func finishJudged(_ id: TaskID, epoch: Epoch, outcome: TaskOutcome) throws -> Judged {
        try judged(id) { db, task in
            if task.status.isFinished {
                let same = task.status == outcome.status && task.epoch == epoch && task.result == outcome.result && task.reason == outcome.reason
                return same ? .applied(current: task.epoch, repeated: true) : .rejected(current: task.epoch, reason: .finished)
            }
            guard EpochRules.judgeDataWrite(epoch, current: task.epoch) == .applied else {
                return .rejected(current: task.epoch, reason: .staleEpoch)
            }
            try Self.writeOutcome(db, id, outcome)
            return .applied(current: task.epoch, repeated: false)
        }
    }

    func abortJudged(_ id: TaskID, epoch: Epoch, cause: AbortCause) throws -> Judged {
        let reason = cause.reason
        return try judged(id) { db, task in
            if task.status.isFinished {
                let same = task.status == .aborted && task.reason == reason && task.epoch == epoch
                return same ? .applied(current: task.epoch, repeated: true) : .rejected(current: task.epoch, reason: .finished)
            }
            guard EpochRules.judgeClaim(epoch, current: task.epoch) == .applied else {
                return .rejected(current: task.epoch, reason: .notNewer)
            }
            try db.run(
                sql: "UPDATE Tasks SET global_epoch = ?, regional_epoch = ?, owner_region = '', owner_proxy = '' WHERE task_id = ?",
                arguments: [epoch.global, epoch.regional, id])
            try Self.writeOutcome(db, id, .aborted(cause))
            return .applied(current: epoch, repeated: false)
        }
    }

    private static func writeOutcome(_ db: Database, _ id: TaskID, _ outcome: TaskOutcome) throws {
        try db.run(sql: "INSERT INTO Documents (doc_type, doc_content) VALUES ('response', ?)", arguments: [outcome.result ?? outcome.reason ?? ""])
        try db.run(
            sql: "UPDATE Tasks SET status = ?, result = ?, reason = ?, response_doc_id = ? WHERE task_id = ?",
            arguments: [outcome.status.rawValue, outcome.result, outcome.reason, db.lastInsertedRowID, id])
    }
}

extension TaskOutcome {
    var result: String? { if case .completed(let result) = self { result } else { nil } }
    var reason: String? { if case .aborted(let cause) = self { cause.reason } else { nil } }
}
