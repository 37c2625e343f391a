import Checks
import Core
import Determinism
import Sim

/// Watches a run's events: feeds the checkers, keeps the figures of the summary, and tells the
/// liveness phase when every client has seen its tasks through.
final class RunObserver {
    var checkers: CheckerSuite
    let directory: Directory
    var acknowledged: Set<TaskID> = []
    var submitted = 0
    var answered = 0
    var clientsDone = 0
    /// Requests acknowledged to their client, and requests whose client saw the final status.
    var requestsAcknowledged = 0
    var requestsFinished = 0
    var latencies: [Int64] = []
    /// When each of those tasks was seen final (virtual nanoseconds), in the same order.
    var finishTimes: [Int64] = []
    var completedSeen = 0
    var abortedSeen = 0
    var rejected = 0
    var llmCalls = 0
    var faultsInjected = 0
    /// LLM work each owner sent for each task, and the owners whose run of a task saved something.
    var workSent: [String: Int] = [:]
    var claimOwners: [String: Address] = [:]
    var usefulOwners: Set<String> = []
    /// The messages whose send was passed on to the checkers: only their deliveries, drops and
    /// duplicates are (nine in ten messages are store and client traffic no checker follows).
    private var passedOn = MessageIDSet()
    /// The protocol moments the run reached; read off the same events, never fed back.
    var marks: MarkTracker
    /// Off where nobody reads the marks (the shrinker's candidates): one branch per event then.
    var countsMarks = true
    /// The run's state signature, when a guided search asks for it.
    var signature: StateSignature?
    /// The newest message id delivered on each link (sender x receiver, one flat table: a
    /// delivery is the commonest event), plus one; 0 for none yet. To see reordering.
    private var deliveredOnLink: [UInt64]
    private let nodeCount: Int
    /// The store is crashed, killed or without power (until it restarts).
    private var storeDown = false

    init(directory: Directory, context: CheckContext, cluster: ClusterSpec) {
        self.directory = directory
        checkers = CheckerSuite(context: context)
        marks = MarkTracker(cluster: cluster)
        nodeCount = directory.names.count
        deliveredOnLink = [UInt64](repeating: 0, count: nodeCount * nodeCount)
    }

    func observe(_ entry: TraceEntry<CoreWorld>) {
        if countsMarks {
            marks.now = entry.time
            mark(entry.event)
        }
        signature?.observe(entry.event)
        switch entry.event {
        case .send(let id, let from, let to, let message):
            switch message {
            case .llmRequest: llmCalls += 1
            case .llmWork(let work):
                workSent["\(work.owner)|\(work.taskID)", default: 0] += 1
                feedSend(entry, id: id, from: from, to: to, message)
            case .llmWorkReply, .llmWorkCheck, .llmWorkHeld, .proxyHeartbeat, .storeRequest(_, .claim):
                feedSend(entry, id: id, from: from, to: to, message)
            default: break
            }
        case .deliver(let id, _, let to):
            if passedOn.contains(id) { feed(entry, .delivered(id: id, to: directory.address(to))) }
        case .drop(let id, _, _, _):
            if passedOn.contains(id) { feed(entry, .dropped(id: id)) }
        case .duplicate(let id, let copy):
            if passedOn.contains(id) {
                passedOn.insert(copy)
                feed(entry, .duplicated(id: id, copy: copy))
            }
        case .start(let node, let incarnation):
            feed(entry, .started(node: directory.address(node), incarnation: incarnation))
        case .fault(let action):
            if action != .healAll, !action.isReseed { faultsInjected += 1 }
        case .observe(let node, let observation):
            checkers.observe(ObservedEvent(index: entry.index, time: entry.time, node: directory.address(node), observation: observation))
            tally(observation)
            if case .client(.finished) = observation { finishTimes.append(entry.time.nanoseconds) }
        default:
            break
        }
    }

    /// The marks an event reaches. Sends are looked at only for the kinds a mark is about, so
    /// the common traffic costs one switch.
    private func mark(_ event: TraceEvent<CoreWorld>) {
        switch event {
        case .send(_, let from, let to, let message):
            switch message {
            case .submitBusy, .cannotPlace, .assign, .llmWorkCheck, .llmWorkHeld, .llmWorkReply, .llmRequest, .llmReply, .storeRequest(_, .saveProgress):
                marks.sent(message, from: directory.address(from), to: directory.address(to))
            case .storeRequest(_, .claim):
                if storeDown { marks.hit(.claimDuringStoreOutage) }
            case .storeReply:
                if marks.followsSaves { marks.sent(message, from: directory.address(from), to: directory.address(to)) }
            default: break
            }
        case .deliver(let id, let from, let to):
            marks.delivered()
            let link = from.index &* nodeCount &+ to.index
            if deliveredOnLink[link] > id &+ 1 { marks.hit(.deliveryOvertaken) } else { deliveredOnLink[link] = id &+ 1 }
        case .drop(_, _, _, .loss): marks.hit(.messageLost)
        case .drop(_, _, _, .partition): marks.hit(.messagePartitioned)
        case .drop(_, _, _, .receiverDown): marks.hit(.messageToDownNode)
        case .duplicate: marks.hit(.messageDuplicated)
        case .hold: marks.hit(.messageHeld)
        case .timer(let node, .core(let timer)): marks.fired(timer, at: directory.address(node))
        case .timer: break
        case .start(let node, _):
            // A restart or the heal brings the store back; both start a new incarnation.
            if storeDown, directory.address(node) == .store { storeDown = false }
        case .fault(let action):
            switch action {
            case .crash(let node):
                marks.hit(.nodeCrashed)
                if node == Address.store.name { storeDown = true }
            case .restart: marks.hit(.nodeCameBack)
            case .kill(let node):
                marks.hit(.nodeKilled)
                if node == Address.store.name { storeDown = true }
            case .pause: marks.hit(.nodePaused)
            case .powerLoss:
                marks.hit(.storePowerLoss)
                storeDown = true
            case .partition: marks.hit(.partitionStarted)
            case .clogNode, .clogLink: marks.hit(.clogStarted)
            case .delayNode: marks.hit(.delaySpell)
            default: break
            }
        case .observe(_, let observation): marks.observe(observation)
        }
    }

    private func feedSend(_ entry: TraceEntry<CoreWorld>, id: UInt64, from: NodeID, to: NodeID, _ message: CoreMessage) {
        guard checkers.observesMessages else { return }
        passedOn.insert(id)
        feed(entry, .sent(id: id, from: directory.address(from), to: directory.address(to), message))
    }

    private func feed(_ entry: TraceEntry<CoreWorld>, _ fact: @autoclosure () -> MessageEvent.Fact) {
        guard checkers.observesMessages else { return }
        checkers.observeMessage(MessageEvent(index: entry.index, time: entry.time, fact: fact()))
    }

    private func tally(_ observation: WorldObservation) {
        switch observation {
        case .core(.taskAcknowledged(let task)):
            acknowledged.insert(task)
        case .core(.write(let task, let kind, let epoch, _, .applied)):
            switch kind {
            case .claim(_, let owner):
                if let owner { claimOwners["\(task)@\(epoch)"] = owner.proxy }
            case .progress, .finish:
                if let owner = claimOwners["\(task)@\(epoch)"] { usefulOwners.insert("\(owner)|\(task)") }
            case .abort:
                break
            }
        case .client(.submitted):
            submitted += 1
        case .client(.acknowledged):
            answered += 1
            requestsAcknowledged += 1
        case .client(.rejected):
            answered += 1
            rejected += 1
        case .client(.allSubmitted):
            clientsDone += 1
        case .client(.finished(_, let latency, let completed)):
            requestsFinished += 1
            latencies.append(latency.nanoseconds)
            if completed { completedSeen += 1 } else { abortedSeen += 1 }
        default:
            break
        }
    }

    /// The liveness goal, on what clients saw: every client sent everything, every submit was
    /// answered, and every acknowledged task's client saw it completed or aborted.
    func converged(clients: Int) -> Bool {
        clientsDone == clients && answered >= submitted && requestsFinished >= requestsAcknowledged
    }

    /// Owner calls spent on task runs that never saved a result.
    var wastedCalls: Int {
        workSent.filter { !usefulOwners.contains($0.key) }.values.reduce(0, +)
    }

    var mean: Int64? {
        latencies.isEmpty ? nil : latencies.reduce(0, +) / Int64(latencies.count)
    }

    func percentile(_ p: Int) -> Int64? {
        Percentile.nearestRank(p, of: latencies.sorted())
    }
}

/// A set of message ids. The kernel numbers messages densely from zero, so one bit per id is
/// enough, and a lookup, done for every delivery of a run, hashes nothing.
struct MessageIDSet {
    private var words: [UInt64] = []

    func contains(_ id: UInt64) -> Bool {
        let word = Int(id >> 6)
        return word < words.count && words[word] & (1 << (id & 63)) != 0
    }

    mutating func insert(_ id: UInt64) {
        let word = Int(id >> 6)
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: max(word + 1 - words.count, words.count))) }
        words[word] |= 1 << (id & 63)
    }
}
