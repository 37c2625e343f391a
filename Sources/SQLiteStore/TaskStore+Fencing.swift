import Core
import GRDB

/// The fenced writes of design section 5 on SQLite, each in one transaction (GRDB's queue
/// serialises them), with the verdicts of `FencingRules`.
extension TaskStore {
    private func judged(_ id: TaskID, taskRow: Bool = true, _ judge: (Database, TaskRecord) throws -> WriteOutcome) throws -> Judged {
        try writing(task: id, taskRow: taskRow) { db in
            guard let task = try Self.fetchTask(db, id) else { return Judged(outcome: .rejected(current: nil, reason: .noSuchTask), before: nil) }
            return Judged(outcome: try judge(db, task), before: task.epoch)
        }
    }

    public func claimJudged(_ id: TaskID, epoch: Epoch, region: String, proxy: String) throws -> Judged {
        try judged(id) { db, task in
            let decision = FencingRules.claim(task, epoch: epoch, region: region, proxy: proxy)
            guard case .apply(let verdict) = decision else { return decision.outcome }
            let status = FencingRules.statusAfterClaim(task, proxy: proxy)
            try db.run(
                sql: "UPDATE Tasks SET global_epoch = ?, regional_epoch = ?, owner_region = ?, owner_proxy = ?, status = ? WHERE task_id = ?",
                arguments: [epoch.global, epoch.regional, region, proxy, status.rawValue, id])
            return verdict
        }
    }

    public func saveProgressJudged(_ id: TaskID, node: String, epoch: Epoch, result: String, inputDigest: String) throws -> Judged {
        // A saved result adds a Progress row and leaves the task's row as it is.
        try judged(id, taskRow: false) { db, task in
            let existing = try Self.progressRows(
                db, sql: "SELECT \(Self.progressColumns) FROM Progress WHERE task_id = ? AND node_id = ?", arguments: [id, node]
            ).first
            let decision = FencingRules.saveProgress(task, existing: existing, epoch: epoch, result: result, inputDigest: inputDigest)
            guard case .apply(let verdict) = decision else { return decision.outcome }
            try db.run(
                sql: "INSERT INTO Progress (task_id, node_id, global_epoch, regional_epoch, result, input_digest) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [id, node, epoch.global, epoch.regional, result, inputDigest])
            return verdict
        }
    }

    public func finishJudged(_ id: TaskID, epoch: Epoch, outcome: TaskOutcome) throws -> Judged {
        try judged(id) { db, task in
            let decision = FencingRules.finish(task, epoch: epoch, outcome: outcome)
            guard case .apply(let verdict) = decision else { return decision.outcome }
            try Self.writeOutcome(db, id, outcome)
            return verdict
        }
    }

    public func abortJudged(_ id: TaskID, epoch: Epoch, cause: AbortCause) throws -> Judged {
        try judged(id) { db, task in
            let decision = FencingRules.abort(task, epoch: epoch, cause: cause)
            guard case .apply(let verdict) = decision else { return decision.outcome }
            try db.run(
                sql: "UPDATE Tasks SET global_epoch = ?, regional_epoch = ?, owner_region = '', owner_proxy = '' WHERE task_id = ?",
                arguments: [epoch.global, epoch.regional, id])
            try Self.writeOutcome(db, id, .aborted(cause))
            return verdict
        }
    }

    private static func writeOutcome(_ db: Database, _ id: TaskID, _ outcome: TaskOutcome) throws {
        try db.run(sql: "INSERT INTO Documents (doc_type, doc_content) VALUES ('response', ?)", arguments: [outcome.result ?? outcome.reason ?? ""])
        try db.run(
            sql: "UPDATE Tasks SET status = ?, result = ?, reason = ?, response_doc_id = ? WHERE task_id = ?",
            arguments: [outcome.status.rawValue, outcome.result, outcome.reason, db.lastInsertedRowID, id])
    }
}
