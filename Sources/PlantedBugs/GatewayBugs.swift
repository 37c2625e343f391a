// Gateways with a plausible mistake each: in failover, status, keys, admission.
import Core
import Determinism

/// A gateway that answers status from memory, so a restart forgets every earlier task.
public struct ForgetfulGateway: CoreMachine {
    var inner: Gateway

    public init(inner: Gateway) { self.inner = inner }

    var known: Set<TaskID> = []

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        if case .message(let from, .statusQuery(let id, let task)) = input, !known.contains(task) {
            return [.send(to: from, .statusReply(requestID: id, status: .nonExist))]
        }
        let effects = inner.handle(input, context: context, random: &random)
        for case .observe(.taskAcknowledged(let task)) in effects { known.insert(task) }
        return effects
    }
}

/// A gateway that gives up on a task once it needed a failover (a placement limit of one):
/// recovery turns into aborts "with a reason".
public struct FailoverAbortingGateway: CoreMachine {
    var inner: Gateway

    public init(inner: Gateway) { self.inner = inner }

    var claims: [TaskID: Int] = [:]

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        inner.handle(input, context: context, random: &random).map { effect in
            guard case .send(let to, .storeRequest(let id, .claim(let task, let epoch, _, nil))) = effect else { return effect }
            claims[task, default: 0] += 1
            guard claims[task]! > 1 else { return effect }
            return .send(to: to, .storeRequest(requestID: id, .abort(task, epoch: epoch, cause: .noRegion(since: context.now))))
        }
    }
}

/// A gateway that answers status from a cache filled on the first `running` it reads and
/// never invalidated: the store finishes the task, the client keeps hearing `running`.
public struct CachingStatusGateway: CoreMachine {
    var inner: Gateway

    public init(inner: Gateway) { self.inner = inner }

    var asked: [String: TaskID] = [:]
    var cache: [TaskID: TaskStatusView] = [:]

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        if case .message(let from, .statusQuery(let id, let task)) = input {
            if let cached = cache[task] { return [.send(to: from, .statusReply(requestID: id, status: cached))] }
            asked["\(from)#\(id)"] = task
        }
        let effects = inner.handle(input, context: context, random: &random)
        for case .send(let to, .statusReply(let id, let status)) in effects {
            if case .running = status, let task = asked["\(to)#\(id)"] { cache[task] = status }
        }
        return effects
    }
}

/// A gateway that keys new tasks by submit attempt instead of by request: a client's retry
/// (after a lost answer, a gateway restart, a store outage) creates a second task.
public struct AttemptKeyedGateway: CoreMachine {
    var inner: Gateway

    public init(inner: Gateway) { self.inner = inner }

    var attempts = 0

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        inner.handle(input, context: context, random: &random).map { effect in
            guard case .send(let to, .storeRequest(let id, .createTask(let user, let type, let description, let plan, let request, let key))) = effect else {
                return effect
            }
            attempts += 1
            let perAttempt = "\(key)#attempt-\(context.incarnation)-\(attempts)"
            return .send(to: to, .storeRequest(requestID: id, .createTask(userID: user, taskType: type, description: description, plan: plan, request: request, clientKey: perAttempt)))
        }
    }
}

/// A gateway that builds its keys from the request id alone (the client's name left out): two
/// clients' first requests collide, and the second is refused as a key already used.
public struct ClientBlindKeyGateway: CoreMachine {
    var inner: Gateway

    public init(inner: Gateway) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        inner.handle(input, context: context, random: &random).map { effect in
            guard case .send(let to, .storeRequest(let id, .createTask(let user, let type, let description, let plan, let request, let key))) = effect,
                let hash = key.firstIndex(of: "#")
            else { return effect }
            let blind = String(key[hash...])
            return .send(to: to, .storeRequest(requestID: id, .createTask(userID: user, taskType: type, description: description, plan: plan, request: request, clientKey: blind)))
        }
    }
}

/// A restarted gateway that admits before its first sweep has answered, as every gateway did
/// before the fix: it counts nothing open, so it takes up to its limit again on top of what
/// its earlier life left unfinished. Modelled by answering its first sweep with an empty list.
public struct EagerRestartGateway: CoreMachine {
    var inner: Gateway

    public init(inner: Gateway) { self.inner = inner }

    var answeredFirstSweep = false

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        var effects = inner.handle(input, context: context, random: &random)
        guard !answeredFirstSweep, let index = effects.firstIndex(where: {
            if case .send(_, .storeRequest(_, .unfinishedTasks)) = $0 { true } else { false }
        }), case .send(_, .storeRequest(let id, _)) = effects[index] else { return effects }
        answeredFirstSweep = true
        effects += inner.handle(.message(from: "store", .storeReply(requestID: id, .tasks([]))), context: context, random: &random)
        return effects
    }
}

/// A gateway that waits a minute before it fails over a silent region (a timeout in the wrong
/// unit): the tasks of a failed region wait out the minute. Nothing is lost, nothing aborts;
/// only latency grows.
public func slowFailoverGateway(_ settings: GatewaySettings, _ incarnation: UInt32) -> any CoreMachine {
    var slow = settings
    slow.regionTimeout = .seconds(60)
    return Gateway(settings: slow, incarnation: incarnation)
}
