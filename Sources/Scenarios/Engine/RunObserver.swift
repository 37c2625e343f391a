import Core
import Sim

/// Watches a run's events: feeds the checkers, keeps the figures of the summary, and tells the
/// liveness phase when every acknowledged task has finished.
final class RunObserver {
    var checkers = CheckerSuite()
    let directory: Directory
    var acknowledged: Set<TaskID> = []
    var finished: Set<TaskID> = []
    var submitted = 0
    var answered = 0
    var clientsDone = 0
    var latencies: [Int64] = []
    var completedSeen = 0
    var abortedSeen = 0
    var rejected = 0
    var llmCalls = 0
    var faultsInjected = 0
    /// LLM work each owner sent for each task, and the owners whose run of a task saved something.
    var workSent: [String: Int] = [:]
    var claimOwners: [String: String] = [:]
    var usefulOwners: Set<String> = []

    init(directory: Directory) {
        self.directory = directory
    }

    func observe(_ entry: TraceEntry<CoreWorld>) {
        switch entry.event {
        case .send(_, _, _, let message):
            switch message {
            case .llmRequest: llmCalls += 1
            case .llmWork(let work): workSent["\(work.owner)|\(work.taskID)", default: 0] += 1
            default: break
            }
        case .fault(let action):
            if action != .healAll { faultsInjected += 1 }
        case .observe(let node, let observation):
            checkers.observe(ObservedEvent(index: entry.index, time: entry.time, node: directory.name(node), observation: observation))
            tally(observation)
        default:
            break
        }
    }

    private func tally(_ observation: WorldObservation) {
        switch observation {
        case .core(.taskAcknowledged(let task)):
            acknowledged.insert(task)
        case .core(.write(let task, let kind, let epoch, _, .applied)):
            switch kind {
            case .claim(_, let proxy):
                if let owner = proxy.split(separator: "#").first { claimOwners["\(task)@\(epoch)"] = String(owner) }
            case .progress, .finish:
                if let owner = claimOwners["\(task)@\(epoch)"] { usefulOwners.insert("\(owner)|\(task)") }
                if case .finish = kind { finished.insert(task) }
            case .abort:
                finished.insert(task)
            }
        case .client(.submitted):
            submitted += 1
        case .client(.acknowledged):
            answered += 1
        case .client(.rejected):
            answered += 1
            rejected += 1
        case .client(.allSubmitted):
            clientsDone += 1
        case .client(.finished(_, let latency, let completed)):
            latencies.append(latency)
            if completed { completedSeen += 1 } else { abortedSeen += 1 }
        default:
            break
        }
    }

    /// The liveness goal: every client sent everything, every submit was answered, and every
    /// acknowledged task is finished in the store.
    func converged(clients: Int) -> Bool {
        clientsDone == clients && answered >= submitted && acknowledged.isSubset(of: finished)
    }

    /// Owner calls spent on task runs that never saved a result.
    var wastedCalls: Int {
        workSent.filter { !usefulOwners.contains($0.key) }.values.reduce(0, +)
    }

    func percentile(_ p: Int) -> Int64? {
        guard !latencies.isEmpty else { return nil }
        let sorted = latencies.sorted()
        return sorted[min(sorted.count - 1, (sorted.count * p + 99) / 100 - 1)]
    }
}
