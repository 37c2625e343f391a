import Core
import Sim

/// A simulated client of the seed README: submits its requests in its pattern, resubmits until
/// acknowledged (the same request id, so the gateway finds the task it created), then polls each
/// task's status every few seconds until it is completed or aborted.
struct ClientProcess: SimProcess {
    typealias World = CoreWorld

    struct Request {
        var submittedAt: Instant
        var query: Query
        var task: TaskID?
        var done = false
        /// The newest poll answered: an answer to an older poll that the network delayed is
        /// stale, as a client that polls one request at a time would never see it.
        var lastPollAnswered: UInt64 = 0
    }

    let name: String
    let workload: Workload
    let gateway: NodeID
    let resubmitAfter: Interval = .seconds(5)
    /// Burst k sends requests `bursts[k]` (indices into the workload), after gap `gaps[k]`.
    var bursts: [[Int]] = []
    var gaps: [Interval] = []
    var requests: [UInt64: Request] = [:]
    var polls: [UInt64: UInt64] = [:]
    var nextPoll: UInt64 = 1 << 32

    /// A recorded run's requests of this client, in time order (nil: the workload's pattern).
    let recorded: [RecordedRequest]?

    init(name: String, workload: Workload, gateway: NodeID) {
        self.name = name
        self.workload = workload
        self.gateway = gateway
        recorded = workload.recorded.map { all in all.filter { $0.client == name }.sorted { $0.atMillis < $1.atMillis } }
    }

    mutating func handle(_ input: ProcessInput<CoreWorld>, context: inout ProcessContext<CoreWorld>) {
        switch input {
        case .start:
            planBursts(&context.random)
            if !bursts.isEmpty { context.setTimer(.client(.burst(0)), after: gaps[0]) } else { context.observe(.client(.allSubmitted)) }
        case .timer(.client(.burst(let k))):
            for index in bursts[k] { submit(index, &context) }
            if k + 1 < bursts.count {
                context.setTimer(.client(.burst(k + 1)), after: gaps[k + 1])
            } else {
                context.observe(.client(.allSubmitted))
            }
        case .timer(.client(.resubmit(let requestID))):
            guard let request = requests[requestID], request.task == nil, !request.done else { return }
            context.send(.submit(requestID: requestID, query: request.query), to: gateway)
            context.setTimer(.client(.resubmit(requestID: requestID)), after: resubmitAfter)
        case .timer(.client(.poll(let requestID))):
            guard let task = requests[requestID]?.task, requests[requestID]?.done == false else { return }
            nextPoll += 1
            polls[nextPoll] = requestID
            context.send(.statusQuery(requestID: nextPoll, taskID: task), to: gateway)
            context.setTimer(.client(.poll(requestID: requestID)), after: workload.pollInterval)
        case .message(_, let message):
            receive(message, &context)
        default:
            break
        }
    }

    private mutating func receive(_ message: CoreMessage, _ context: inout ProcessContext<CoreWorld>) {
        switch message {
        case .submitted(let requestID, let task):
            guard var request = requests[requestID] else { return }
            if let known = request.task {
                // A second answer naming another task: the gateway made two tasks of one request.
                if known != task { context.observe(.client(.conflictingAck(requestID: requestID, task: task))) }
                return
            }
            request.task = task
            requests[requestID] = request
            context.cancelTimer(.client(.resubmit(requestID: requestID)))
            context.observe(.client(.acknowledged(requestID: requestID, task: task)))
            context.setTimer(.client(.poll(requestID: requestID)), after: workload.pollInterval)
        case .submitRejected(let requestID, let reason):
            guard requests[requestID]?.done == false else { return }
            requests[requestID]?.done = true
            context.cancelTimer(.client(.resubmit(requestID: requestID)))
            context.observe(.client(.rejected(requestID: requestID, reason: reason)))
        case .submitBusy(let requestID, let retryAfter, _):
            // Admission control refused it before creating anything: the same request again,
            // after the wait the gateway asked for.
            guard let request = requests[requestID], request.task == nil, !request.done else { return }
            context.setTimer(.client(.resubmit(requestID: requestID)), after: max(retryAfter, .nanoseconds(1)))
        case .statusReply(let pollID, let status):
            guard let requestID = polls.removeValue(forKey: pollID), let request = requests[requestID], let task = request.task,
                pollID > request.lastPollAnswered
            else { return }
            requests[requestID]?.lastPollAnswered = pollID
            context.observe(.client(.status(task: task, status: status)))
            switch status {
            case .completed, .aborted:
                guard !request.done else { return }
                requests[requestID]?.done = true
                context.cancelTimer(.client(.poll(requestID: requestID)))
                if case .completed = status {
                    context.observe(.client(.finished(task: task, latency: context.now - request.submittedAt, completed: true)))
                } else {
                    context.observe(.client(.finished(task: task, latency: context.now - request.submittedAt, completed: false)))
                }
            default:
                break
            }
        default:
            break
        }
    }

    private mutating func submit(_ index: Int, _ context: inout ProcessContext<CoreWorld>) {
        let requestID = UInt64(index + 1)
        let query: Query
        if let recorded {
            query = recorded[index].query
        } else {
            let template = workload.tasks[workload.pattern.template(for: index, count: workload.tasks.count)]
            query = template.query(description: "Request \(index + 1) of \(name): write and test function number \(index + 1).")
        }
        requests[requestID] = Request(submittedAt: context.now, query: query)
        context.observe(.client(.submitted(requestID: requestID, query: query)))
        context.send(.submit(requestID: requestID, query: query), to: gateway)
        context.setTimer(.client(.resubmit(requestID: requestID)), after: resubmitAfter)
    }

    /// Draws the burst sizes and gaps of the pattern from the client's own stream.
    private mutating func planBursts(_ random: inout SimRandom) {
        if let recorded {
            var previous: Int64 = 0
            for (index, request) in recorded.enumerated() {
                bursts.append([index])
                gaps.append(.milliseconds(max(0, request.atMillis - previous)))
                previous = max(previous, request.atMillis)
            }
            return
        }
        for burst in Self.plan(workload, random: &random) {
            bursts.append(burst.requests)
            gaps.append(burst.gap)
        }
    }

    static func plan(_ workload: Workload, random: inout SimRandom) -> [(gap: Interval, requests: [Int])] {
        var bursts: [[Int]] = []
        var gaps: [Interval] = []
        let total = workload.requestsPerClient
        var sent = 0
        var first = true
        var elapsed: Int64 = 0
        func gap(_ min: Interval, _ max: Interval) -> Interval {
            Interval(nanoseconds: random.int64(in: min.nanoseconds...max.nanoseconds))
        }
        while sent < total {
            let size: Int
            let wait: Interval
            switch workload.pattern {
            case .sendAll:
                size = total
                wait = .zero
            case .sendInInterval(let min, let max):
                size = 1
                wait = first ? .zero : gap(min, max)
            case .sendBatchInterval(let min, let max, let batch):
                size = batch
                wait = first ? .zero : gap(min, max)
            case .sendDynamicBatchInterval(let min, let max, let low, let high):
                size = random.int(in: low...high)
                wait = first ? .zero : gap(min, max)
            case .arrivals(let times, _):
                size = 1
                wait = .nanoseconds(max(0, times[sent] - (sent == 0 ? 0 : times[sent - 1])) * 1_000_000)
            case .poisson(let perHour):
                // Exponential gaps, integer-only: a geometric number of 1 ms steps, each an
                // arrival with probability perHour / 3,600,000.
                size = 1
                var steps: Int64 = 1
                while !random.chance(Ratio(UInt64(perHour), 3_600_000)) { steps += 1 }
                wait = .milliseconds(steps)
            }
            elapsed += wait.nanoseconds
            if let sendFor = workload.sendFor, elapsed >= sendFor.nanoseconds { break }
            let count = min(size, total - sent)
            bursts.append(Array(sent..<(sent + count)))
            gaps.append(wait)
            sent += count
            first = false
        }
        return Array(zip(gaps, bursts))
    }
}

/// The arrivals a simulated client makes in a run with `seed`: each burst's gap after the
/// previous one and the request indices it sends. `agentos load --arrivals-seed` sends the same
/// schedule to a real gateway, so a real run and a simulated run see the same arrivals.
public enum ClientArrivals {
    public static func plan(_ workload: Workload, client: String, seed: UInt64) -> [(gap: Interval, requests: [Int])] {
        // The stream the simulator gives the client's first incarnation, whose first use is this plan.
        var random = SimRandom(seed: seed, stream: .node(client, incarnation: 1))
        return ClientProcess.plan(workload, random: &random)
    }
}
