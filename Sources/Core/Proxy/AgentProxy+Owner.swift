/// One task this proxy owns at one epoch.
struct TaskRun {
    var epoch: Epoch
    var plan: TaskPlan?
    /// Saved node results; nil until loaded from the store.
    var progress: [String: String]?
    var nodes: [String: NodeRun] = [:]
    var inputDigests: [String: String] = [:]
    var saving: Set<String> = []
    /// `none`: node results kept in memory only, written together once every node is done.
    var unsaved: [String: String] = [:]
    var finishing = false
    /// Nodes whose calls have failed transiently with no success since.
    var failingSince: [String: FailingSince] = [:]
}

struct FailingSince {
    var since: Instant
    var failures: Int
}

/// The task-owner role: load the task and its stored progress, run every node whose parents
/// are done and that has no saved result, save each result at the owner's epoch, and stop at
/// once when the store says the epoch is stale.
extension AgentProxy {
    mutating func startRun(_ taskID: TaskID, epoch: Epoch, into effects: inout [CoreEffect]) {
        if let existing = runs[taskID] {
            guard epoch > existing.epoch else { return }  // a reminder of what is already running
            stopRun(taskID, into: &effects)
        }
        runs[taskID] = TaskRun(epoch: epoch)
        calls.call(.getTask(taskID), for: .loadTask(taskID, epoch), into: &effects)
        calls.call(.getProgressList(taskID), for: .loadProgress(taskID, epoch), into: &effects)
    }

    /// Drops every trace of a task: its nodes, its outstanding calls, its store requests.
    mutating func stopRun(_ taskID: TaskID, into effects: inout [CoreEffect]) {
        guard runs.removeValue(forKey: taskID) != nil else { return }
        for callID in outstanding.keys.sorted() where outstanding[callID]!.task == taskID {
            outstanding[callID] = nil
            effects.append(.cancelTimer(.workTimeout(callID: callID)))
        }
        for callID in waitingForCapacity.keys.sorted() where waitingForCapacity[callID]!.task == taskID {
            waitingForCapacity[callID] = nil
            effects.append(.cancelTimer(.capacityRetry(callID: callID)))
        }
        calls.drop(where: { $0.task == taskID }, into: &effects)
    }

    mutating func stored<R: RandomSource>(
        _ reply: StoreReply, for purpose: Purpose, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        guard let run = runs[purpose.task] else { return }
        switch (purpose, reply) {
        case (.loadTask(let taskID, let epoch), .task(let record)):
            guard epoch == run.epoch else { return }
            guard let record, !record.status.isFinished, record.epoch == epoch else {
                // The task moved on before we started: claimed by someone newer (fenced), or
                // already finished at our own epoch (a late reminder: nothing to do, not a fence).
                if let record, record.epoch == epoch {
                    effects.append(.observe(.note("task \(taskID): already \(record.status.rawValue); nothing to run")))
                } else {
                    effects.append(.observe(.ownerFenced(task: taskID, epoch: epoch, current: record?.epoch)))
                }
                stopRun(taskID, into: &effects)
                return
            }
            guard let plan = record.plan else {
                abort(taskID, cause: .invalidTask(detail: "the stored plan does not parse"), into: &effects)
                return
            }
            runs[taskID]!.plan = plan
            advance(taskID, context: context, random: &random, into: &effects)
        case (.loadProgress(let taskID, let epoch), .progress(let rows)):
            guard epoch == run.epoch else { return }
            runs[taskID]!.progress = Dictionary(rows.map { ($0.nodeID, $0.result) }, uniquingKeysWith: { first, _ in first })
            advance(taskID, context: context, random: &random, into: &effects)
        case (.save(let taskID, let epoch, let node, let output), .write(let outcome)):
            guard epoch == run.epoch else { return }
            runs[taskID]!.saving.remove(node)
            switch outcome {
            case .applied:
                runs[taskID]!.progress?[node] = output
                advance(taskID, context: context, random: &random, into: &effects)
            case .rejected(let current, .conflict):
                // Someone at this very epoch saved this node first: adopt the stored result.
                effects.append(.observe(.note("task \(taskID) node \(node): save conflict at \(current.map(\.description) ?? "?"); reloading")))
                runs[taskID]!.progress = nil
                calls.call(.getProgressList(taskID), for: .loadProgress(taskID, epoch), into: &effects)
            case .rejected(let current, .finished) where current == epoch:
                // Finished at our own epoch (our finish raced this save): done, not fenced.
                effects.append(.observe(.note("task \(taskID) node \(node): task already finished")))
                stopRun(taskID, into: &effects)
            case .rejected(let current, _):
                fenced(taskID, current: current, into: &effects)
            }
        case (.saveRound(let taskID, let epoch), .write(let outcome)):
            // A checkpoint only speeds up a later owner; only a fence matters here.
            guard epoch == run.epoch, case .rejected(let current, let reason) = outcome, reason != .conflict, reason != .finished else { return }
            fenced(taskID, current: current, into: &effects)
        case (.saveRound, _):
            break
        case (.finish(let taskID, let epoch), .write(let outcome)):
            guard epoch == run.epoch else { return }
            if case .rejected(let current, let reason) = outcome, reason != .finished {
                fenced(taskID, current: current, into: &effects)
            } else {
                runs[taskID] = nil
            }
        default:
            // The store failed the request: let go; the region hands the task out again.
            stopRun(purpose.task, into: &effects)
        }
    }

    /// The store fenced this owner: stop all work on the task at once.
    private mutating func fenced(_ taskID: TaskID, current: Epoch?, into effects: inout [CoreEffect]) {
        effects.append(.observe(.ownerFenced(task: taskID, epoch: runs[taskID]!.epoch, current: current)))
        stopRun(taskID, into: &effects)
    }

    /// Starts every node whose parents are saved and that is neither saved, running nor being
    /// saved; finishes the task when every node is saved.
    mutating func advance<R: RandomSource>(_ taskID: TaskID, context: CoreContext, random: inout R, into effects: inout [CoreEffect]) {
        guard let run = runs[taskID], let plan = run.plan, let progress = run.progress, !run.finishing else { return }
        let graph = plan.graph
        if graph.nodes.allSatisfy({ progress[$0.id] != nil }) {
            // `none`: the results so far were kept in memory; write them now, then finish.
            for (node, output) in run.unsaved.sorted(by: { $0.key < $1.key }) {
                runs[taskID]!.unsaved[node] = nil
                runs[taskID]!.saving.insert(node)
                let request = StoreRequest.saveProgress(taskID, node: node, epoch: run.epoch, result: output, inputDigest: run.inputDigests[node] ?? "")
                calls.call(request, for: .save(taskID, run.epoch, node: node, output: output), into: &effects)
            }
            guard runs[taskID]!.saving.isEmpty else { return }
            finish(taskID, outcome: .completed(result: TaskResult.combine(graph: graph, results: progress)), into: &effects)
            return
        }
        for id in graph.topologicalOrder() ?? [] {
            let node = graph.node(id)!
            guard progress[id] == nil, run.nodes[id] == nil, !run.saving.contains(id),
                node.dependsOn.allSatisfy({ progress[$0] != nil })
            else { continue }
            let parents = node.dependsOn.sorted().map { ($0, progress[$0]!) }
            let digest = InputDigest.of(taskDescription: plan.query.taskDescription, node: node, parentResults: progress)
            let settings = NodeRunSettings(
                rounds: plan.query.nRounds, samples: plan.query.nSamples, voters: plan.query.nVoters, voting: self.settings.voting,
                roundRetries: self.settings.roundRetries)
            let resume = self.settings.checkpoints == .perRound ? RoundCheckpoint.latest(node: id, rounds: settings.rounds, in: progress) : nil
            var nodeRun = NodeRun(task: node.prompt ?? plan.query.taskDescription, parentResults: parents, settings: settings, resumeAfter: resume)
            let step = nodeRun.start()
            runs[taskID]!.nodes[id] = nodeRun
            runs[taskID]!.inputDigests[id] = digest
            let used = parents.map { ParentResult(node: $0.0, resultDigest: FNV64.hex(FNV64.hash($0.1))) }
            effects.append(.observe(.nodeStarted(task: taskID, node: id, epoch: run.epoch, inputDigest: digest, parents: used)))
            apply(step, task: taskID, node: id, context: context, random: &random, into: &effects)
        }
    }

    /// Feeds one call's answer to its node.
    mutating func record<R: RandomSource>(
        _ call: Outstanding, result: Result<String, CallFailure>, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        guard var nodeRun = runs[call.task]?.nodes[call.node] else { return }
        let roundBefore = nodeRun.round
        let step = nodeRun.record(call.call, result: result, random: &random)
        runs[call.task]!.nodes[call.node] = nodeRun
        if settings.checkpoints == .perRound, nodeRun.round > roundBefore, let plan = nodeRun.hints, let run = runs[call.task] {
            // A round was decided: its winning plan is what a later owner resumes from.
            let key = RoundCheckpoint.key(node: call.node, round: roundBefore)
            let request = StoreRequest.saveProgress(call.task, node: key, epoch: run.epoch, result: plan, inputDigest: run.inputDigests[call.node] ?? "")
            calls.call(request, for: .saveRound(call.task, run.epoch), into: &effects)
        }
        apply(step, task: call.task, node: call.node, context: context, random: &random, into: &effects)
    }

    private mutating func apply<R: RandomSource>(
        _ step: NodeStep, task taskID: TaskID, node: String, context: CoreContext, random: inout R, into effects: inout [CoreEffect]
    ) {
        guard let run = runs[taskID] else { return }
        switch step {
        case .wait:
            break
        case .issue(let requests):
            let targets = settings.balancing == .leastLoadedPerRound ? roundTargets(count: requests.count) : []
            for (index, request) in requests.enumerated() {
                send(
                    Outstanding(task: taskID, node: node, call: request, worker: "", queueFullCount: 0), avoiding: nil,
                    target: targets.isEmpty ? nil : targets[index], now: context.now, random: &random, into: &effects)
            }
        case .succeeded(let output) where settings.checkpoints == .none:
            runs[taskID]!.nodes[node] = nil
            runs[taskID]!.unsaved[node] = output
            runs[taskID]!.progress?[node] = output
            advance(taskID, context: context, random: &random, into: &effects)
        case .succeeded(let output):
            runs[taskID]!.nodes[node] = nil
            runs[taskID]!.saving.insert(node)
            let request = StoreRequest.saveProgress(taskID, node: node, epoch: run.epoch, result: output, inputDigest: run.inputDigests[node] ?? "")
            calls.call(request, for: .save(taskID, run.epoch, node: node, output: output), into: &effects)
        case .failed(.malformed(let round, let winners)):
            abort(taskID, cause: .malformedAnswers(node: node, round: round, winners: winners), into: &effects)
        case .failed(.refused(_, let status, let message)):
            abort(taskID, cause: .llmRejected(node: node, status: status, message: message), into: &effects)
        }
    }

    /// The owner's abort: a final write at its epoch, with the cause as data.
    mutating func abort(_ taskID: TaskID, cause: AbortCause, into effects: inout [CoreEffect]) {
        finish(taskID, outcome: .aborted(cause), into: &effects)
    }

    private mutating func finish(_ taskID: TaskID, outcome: TaskOutcome, into effects: inout [CoreEffect]) {
        guard let run = runs[taskID] else { return }
        runs[taskID]!.finishing = true
        // Nothing else of this task is worth finishing once its outcome is decided.
        for callID in outstanding.keys.sorted() where outstanding[callID]!.task == taskID {
            outstanding[callID] = nil
            effects.append(.cancelTimer(.workTimeout(callID: callID)))
        }
        for callID in waitingForCapacity.keys.sorted() where waitingForCapacity[callID]!.task == taskID {
            waitingForCapacity[callID] = nil
            effects.append(.cancelTimer(.capacityRetry(callID: callID)))
        }
        runs[taskID]!.nodes = [:]
        calls.call(.finish(taskID, epoch: run.epoch, outcome: outcome), for: .finish(taskID, run.epoch), into: &effects)
    }
}

/// A task's result from its saved node results: the single sink's result, or one line per sink
/// (`id: result`) in id order. The checkers use the same function to tell whether a completed
/// result is what the stored progress yields.
public enum TaskResult {
    public static func combine(graph: TaskGraph, results: [String: String]) -> String {
        let sinks = graph.sinks
        if sinks.count == 1 { return results[sinks[0]] ?? "" }
        return sinks.map { "\($0): \(results[$0] ?? "")" }.joined(separator: "\n")
    }
}
