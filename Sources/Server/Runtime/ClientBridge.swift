import Core
import Foundation

/// The seed's client API in front of the gateway role: an HTTP request becomes a message to the
/// gateway, and the gateway's reply resumes the waiting request. Its address carries the
/// process's start time, so request ids (and the gateway's idempotency keys) never repeat
/// across restarts.
actor ClientBridge: LocalEndpoint {
    enum Answer: Sendable {
        case submitted(TaskID)
        case rejected(String)
        case busy(retryAfter: Interval, reason: String)
        case status(TaskStatusView)
        case timedOut
    }

    nonisolated let address: Address
    private let transport: Transport
    private let timeout: Duration
    private var nextID: UInt64 = 0
    private var waiting: [UInt64: CheckedContinuation<Answer, Never>] = [:]
    /// When each task was acknowledged, until a client sees it final (for the task latency
    /// metric). Bounded: tasks nobody polls to the end are forgotten in bulk.
    private var acknowledgedAt: [TaskID: ContinuousClock.Instant] = [:]
    private let metrics: ServerMetrics?

    init(address: Address, transport: Transport, metrics: ServerMetrics? = nil, timeout: Duration = .seconds(30)) {
        self.address = address
        self.transport = transport
        self.metrics = metrics
        self.timeout = timeout
    }

    private var nextKey: UInt64 = 0

    /// An idempotency key for a query that came without one: unique to this process's life.
    func makeRequestKey() -> String {
        nextKey += 1
        return "\(address)-\(nextKey)"
    }

    func submit(_ query: Query) async -> Answer {
        let answer = await ask { .submit(requestID: $0, query: query) }
        if case .submitted(let task) = answer, acknowledgedAt[task] == nil {
            if acknowledgedAt.count >= 100_000 { acknowledgedAt.removeAll() }
            acknowledgedAt[task] = ContinuousClock.now
        }
        return answer
    }

    func status(_ task: TaskID) async -> Answer {
        let answer = await ask(timeout: Self.statusTimeout) { .statusQuery(requestID: $0, taskID: task) }
        switch answer {
        case .status(.completed), .status(.aborted):
            if let since = acknowledgedAt.removeValue(forKey: task) { metrics?.taskLatency.record(ContinuousClock.now - since) }
        default:
            break
        }
        return answer
    }

    /// A status read that takes this long means the store is in trouble: the client gets a 503
    /// to retry, rather than a connection held for the whole submit timeout.
    static let statusTimeout: Duration = .seconds(10)

    private func ask(timeout: Duration? = nil, _ make: (UInt64) -> CoreMessage) async -> Answer {
        nextID += 1
        let id = nextID
        let message = make(id)
        let transport = self.transport
        let address = self.address
        let timeout = min(timeout ?? self.timeout, self.timeout)
        return await withCheckedContinuation { continuation in
            waiting[id] = continuation
            transport.send(message, from: address, to: .gateway)
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.answer(id, .timedOut)
            }
        }
    }

    private func answer(_ id: UInt64, _ answer: Answer) {
        waiting.removeValue(forKey: id)?.resume(returning: answer)
    }

    nonisolated func deliver(_ envelope: Envelope) {
        let answer: Answer
        let id: UInt64
        switch envelope.message {
        case .submitted(let request, let task): (id, answer) = (request, .submitted(task))
        case .submitRejected(let request, let reason): (id, answer) = (request, .rejected(reason))
        case .submitBusy(let request, let retryAfter, let reason): (id, answer) = (request, .busy(retryAfter: retryAfter, reason: reason))
        case .statusReply(let request, let status): (id, answer) = (request, .status(status))
        default: return
        }
        Task { await self.answer(id, answer) }
    }
}
