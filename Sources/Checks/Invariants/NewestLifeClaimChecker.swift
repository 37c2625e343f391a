import Core

/// 16. A region never hands a task to a proxy life it knows is over: once (in its own current
/// life) it has been delivered a heartbeat of a proxy's later life, it sends no claim naming an
/// earlier one. Such a claim takes the task from its live owner for a dead one: the owner is
/// fenced, its work is wasted, and the task waits for the dead life's eviction, again and
/// again while old heartbeats keep coming (delayed, duplicated, replayed). Judged at each
/// claim's first send; a retry of a claim decided earlier is not a new decision.
public struct NewestLifeClaimChecker: InvariantChecker {
    public let invariant = Invariant.newestLifeClaims
    public private(set) var violations: [Violation] = []
    /// Per region, the newest life of each proxy delivered to it since the region's own start.
    var heard: [Address: [Address: UInt32]] = [:]
    /// Heartbeats on their way: id to (proxy, life).
    var inFlight: [UInt64: (proxy: Address, incarnation: UInt32)] = [:]
    /// Claims already judged, by region and request id (a retry re-sends the same request).
    var judged: Set<String> = []
    var claims = 0
    var heartbeats = 0
    var staleIgnored = 0

    public init() {}

    public mutating func observe(_ event: ObservedEvent) {
        if case .core(.staleHeartbeatIgnored) = event.observation { staleIgnored += 1 }
    }

    public mutating func observeMessage(_ event: MessageEvent) {
        switch event.fact {
        case .started(let node, _):
            heard[node] = nil
        case .sent(let id, _, _, .proxyHeartbeat(let proxy, let incarnation, _, _)):
            inFlight[id] = (proxy, incarnation)
        case .duplicated(let id, let copy):
            if let heartbeat = inFlight[id] { inFlight[copy] = heartbeat }
        case .dropped(let id):
            inFlight[id] = nil
        case .delivered(let id, let to):
            guard let heartbeat = inFlight.removeValue(forKey: id) else { return }
            heartbeats += 1
            if let newest = heard[to]?[heartbeat.proxy], !Incarnation.precedes(newest, heartbeat.incarnation) { return }
            heard[to, default: [:]][heartbeat.proxy] = heartbeat.incarnation
        case .sent(_, let from, _, .storeRequest(let requestID, .claim(let task, let epoch, _, let owner?))):
            guard judged.insert("\(from)|\(requestID)").inserted else { return }
            claims += 1
            guard let newest = heard[from]?[owner.proxy], Incarnation.precedes(owner.incarnation, newest) else { return }
            violations.append(Violation(
                invariant: invariant, task: task, node: from.name, time: event.time,
                detail: "\(from) claimed task \(task) at \(epoch) for \(owner), after hearing from \(owner.proxy)'s later life \(newest)",
                events: [event.summary]))
        default:
            break
        }
    }

    public var evidence: String {
        "\(claims) claim(s) over \(heartbeats) heartbeat(s) delivered; \(staleIgnored) stale heartbeat(s) ignored"
    }
}

extension NewestLifeClaimChecker: RegisteredChecker {
    public static let name = "newest-life claims"
    public static let needsLiveness = false

    public init(context: CheckContext) { self.init() }
}
