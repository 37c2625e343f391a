/// The store as a node: it executes each request against its store backend (SQLite or
/// PostgreSQL) and replies. The database outlives the node's crashes; the node's crash loses
/// only the replies in flight. Every write's verdict is recorded for the checkers.
public struct StoreNode: CoreMachine {
    public let store: any TaskStoreBackend

    public init(store: any TaskStoreBackend) { self.store = store }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R, into effects: inout [CoreEffect]) {
        guard case .message(let from, .storeRequest(let requestID, let request)) = input else { return }
        let reply: StoreReply
        do {
            reply = try execute(request, observe: { effects.append(.observe($0)) })
        } catch {
            reply = .failed(String(describing: error))
        }
        effects.append(.send(to: from, .storeReply(requestID: requestID, reply)))
    }

    func execute(_ request: StoreRequest, observe: (CoreObservation) -> Void) throws -> StoreReply {
        switch request {
        case .createTask(let userID, let taskType, let description, let plan, let requestText, let clientKey):
            let made = try store.createTask(
                userID: userID, taskType: taskType, description: description, plan: plan, request: requestText, clientKey: clientKey)
            let outcome: CreateOutcome = made.created ? .new : made.sameRequest ? .existing : .conflict
            observe(.taskCreated(task: made.taskID, key: clientKey, outcome: outcome))
            return made.sameRequest ? .created(made.taskID) : .keyConflict(made.taskID)
        case .getTask(let id):
            return .task(try store.getTask(id))
        case .taskStatus(let id):
            return .status(try store.taskStatus(id))
        case .claim(let id, let epoch, let region, let owner):
            let judged = try store.claimJudged(id, epoch: epoch, region: region.name, proxy: owner?.description ?? "")
            observe(.write(task: id, request: .claim(region: region, owner: owner), epoch: epoch, before: judged.before, outcome: judged.outcome))
            return .write(judged.outcome)
        case .saveProgress(let id, let node, let epoch, let result, let inputDigest):
            let judged = try store.saveProgressJudged(id, node: node, epoch: epoch, result: result, inputDigest: inputDigest)
            let kind = WriteKind.progress(node: node, resultDigest: FNV64.hex(FNV64.hash(result)), inputDigest: inputDigest)
            observe(.write(task: id, request: kind, epoch: epoch, before: judged.before, outcome: judged.outcome))
            return .write(judged.outcome)
        case .finish(let id, let epoch, let outcome):
            let judged = try store.finishJudged(id, epoch: epoch, outcome: outcome)
            let digest = FNV64.hex(FNV64.hash(outcome.result ?? outcome.reason ?? ""))
            var cause: AbortCause?
            if case .aborted(let why) = outcome { cause = why }
            let kind = WriteKind.finish(status: outcome.status, resultDigest: digest, cause: cause)
            observe(.write(task: id, request: kind, epoch: epoch, before: judged.before, outcome: judged.outcome))
            return .write(judged.outcome)
        case .abort(let id, let epoch, let cause):
            let judged = try store.abortJudged(id, epoch: epoch, cause: cause)
            observe(.write(task: id, request: .abort(cause: cause), epoch: epoch, before: judged.before, outcome: judged.outcome))
            return .write(judged.outcome)
        case .getProgressList(let id):
            return .progress(try store.getProgressList(id))
        case .unfinishedTasks(let region):
            return .tasks(try store.unfinishedTasks(ownedBy: region?.name))
        }
    }
}
