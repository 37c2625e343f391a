import Core

/// 12. Every LLM work request gets exactly one terminal answer (text, failed, or queue full)
/// from the worker it was delivered to, sent to its caller, unless the worker crashed while
/// holding it. A worker that tells its owner it no longer holds a call it received and never
/// answered lost that call, whatever the owner's resend does afterwards; a resend is a new
/// call with its own id, never an excuse for the lost one.
public struct CallAccountingChecker: InvariantChecker {
    public let invariant = Invariant.callAccounting
    public private(set) var violations: [Violation] = []

    struct CallKey: Hashable {
        var owner: Address
        var callID: UInt64
    }

    struct Call {
        var worker: Address
        var sent: MessageEvent
        /// The worker's incarnation when it first received the call (nil: never delivered).
        var receivedBy: UInt32?
        var answers = 0
    }

    var incarnations: [Address: UInt32] = [:]
    /// Every call, in the order first sent, and where each is in that list: a call is looked
    /// up by its key once per message about it, then reached by position.
    var calls: [Call] = []
    var callIndex: [CallKey: Int] = [:]
    /// What a tracked message carries: a work request's call (its position), or a check's calls.
    enum Tracked {
        case work(Int)
        case check(owner: Address, callIDs: [UInt64])
    }

    /// Message ids of work requests and of checks (one table: every delivery looks up its id).
    var tracked: [UInt64: Tracked] = [:]
    /// The check a worker is answering right now: its deliver is followed by the reply's send.
    var checkBeingAnswered: [Address: (owner: Address, callIDs: [UInt64])] = [:]
    var answersCounted = 0

    public init() {}

    public mutating func observe(_ event: ObservedEvent) {}

    public mutating func observeMessage(_ event: MessageEvent) {
        switch event.fact {
        case .started(let node, let incarnation):
            incarnations[node] = incarnation
        case .duplicated(let id, let copy):
            if let carried = tracked[id] { tracked[copy] = carried }
        case .dropped:
            break
        case .delivered(let id, let to):
            switch tracked[id] {
            case .work(let position)?:
                if calls[position].worker == to, calls[position].receivedBy == nil { calls[position].receivedBy = incarnations[to, default: 0] }
            case .check(let owner, let callIDs)?:
                checkBeingAnswered[to] = (owner, callIDs)
            case nil:
                break
            }
        case .sent(let id, let from, let to, let message):
            sent(id: id, from: from, to: to, message, event)
        }
    }

    private mutating func sent(id: UInt64, from: Address, to: Address, _ message: CoreMessage, _ event: MessageEvent) {
        switch message {
        case .llmWork(let work):
            let key = CallKey(owner: work.owner, callID: work.callID)
            let position: Int
            if let known = callIndex[key] {
                position = known
            } else {
                position = calls.count
                calls.append(Call(worker: to, sent: event))
                callIndex[key] = position
            }
            tracked[id] = .work(position)
        case .llmWorkCheck(let owner, let callIDs):
            tracked[id] = .check(owner: owner, callIDs: callIDs)
        case .llmWorkReply(let callID, _):
            answersCounted += 1
            guard let position = callIndex[CallKey(owner: to, callID: callID)] else {
                violations.append(Violation(
                    invariant: invariant, task: nil, node: nil, time: event.time,
                    detail: "\(from) answered call \(callID) to \(to), which never sent that call", events: [event.summary]))
                return
            }
            calls[position].answers += 1
            let call = calls[position]
            if call.worker != from {
                violations.append(Violation(
                    invariant: invariant, task: nil, node: nil, time: event.time,
                    detail: "call \(callID) of \(to) was sent to \(call.worker) but answered by \(from)", events: [call.sent.summary, event.summary]))
            } else if call.answers == 2 {
                violations.append(Violation(
                    invariant: invariant, task: nil, node: nil, time: event.time,
                    detail: "\(from) answered call \(callID) of \(to) a second time", events: [call.sent.summary, event.summary]))
            }
        case .llmWorkHeld(let held):
            guard let check = checkBeingAnswered.removeValue(forKey: from) else { return }
            let holding = Set(held)
            for callID in check.callIDs where !holding.contains(callID) {
                guard let position = callIndex[CallKey(owner: check.owner, callID: callID)] else { continue }
                let call = calls[position]
                guard call.worker == from, call.answers == 0, let life = call.receivedBy,
                    life == incarnations[from, default: 0]
                else { continue }
                violations.append(Violation(
                    invariant: invariant, task: nil, node: nil, time: event.time,
                    detail: "\(from) received call \(callID) of \(check.owner) and, without crashing, no longer held it, yet never answered it",
                    events: [call.sent.summary, event.summary]))
                calls[position].answers = -1  // reported once
            }
        default:
            break
        }
    }

    public var evidence: String { "\(calls.count) call(s), \(answersCounted) answer(s)" }
}

extension CallAccountingChecker: RegisteredChecker {
    public static let name = "call accounting"
    public static let needsLiveness = false

    public init(context: CheckContext) { self.init() }
}
