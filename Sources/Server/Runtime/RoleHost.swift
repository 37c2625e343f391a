import Core
import Dispatch
import FakeLLM
import Foundation
import Logging
import ServiceLifecycle

/// The real shell's adapter around a role's `RoleRuntime`: the same state machine and the same
/// interpreter as in the simulator, with the same delivery model. Each role owns one serial dispatch queue, its mailbox: inputs are handled
/// one at a time in arrival order, and a sender's messages to it arrive in the order sent.
/// The queue is a dispatch thread, not Swift's cooperative pool, so the store's blocking SQLite
/// writes (with fsync) never stall the HTTP server or the other roles.
public final class RoleHost: LocalEndpoint, @unchecked Sendable {
    public let address: Address
    public let incarnation: UInt32
    // Everything below is touched only on `queue`.
    private var runtime: RoleRuntime
    private var random: SeededSource
    private var stopped = false

    private let queue: DispatchQueue
    private let transport: Transport
    private let metrics: ServerMetrics
    private let logger: Logger
    /// Inputs waiting in the mailbox; past `mailboxMax` new messages are dropped, as a full
    /// socket buffer drops them (the roles' retries cover loss).
    private let pending = LockedCounter()
    private let mailboxMax: Int
    /// The role's clock runs `speedup` times faster than real time, and its timers fire that
    /// many times sooner: `--speedup` scales the whole cluster, as the simulator's virtual clock
    /// would, not only the LLM.
    private let clock: ShellClock
    private let history: HistoryWriter?

    init(
        address: Address, incarnation: UInt32, machine: any CoreMachine, transport: Transport, metrics: ServerMetrics, logger: Logger,
        speedup: Int64 = 1, history: HistoryWriter? = nil, mailboxMax: Int = 65_536
    ) {
        self.history = history
        clock = ShellClock(speedup: speedup)
        self.address = address
        self.incarnation = incarnation
        runtime = RoleRuntime(machine: machine, address: address, incarnation: incarnation)
        self.transport = transport
        self.metrics = metrics
        self.logger = logger
        self.mailboxMax = mailboxMax
        queue = DispatchQueue(label: "agentos.role.\(address)")
        random = SeededSource(seed: UInt64(incarnation) << 32 ^ FNV64.hash(address.name))
    }

    public func boot() {
        transport.traffic?.started(address, incarnation: incarnation)
        enqueue(.start, droppable: false)
    }

    /// A message from another role: queued behind the ones before it.
    func deliver(_ envelope: Envelope) { enqueue(.message(from: envelope.from, envelope.message), droppable: true, trace: envelope.trace) }

    /// Stops the role: queued inputs and armed timers are discarded (on shutdown).
    public func stop() {
        queue.sync { stopped = true }
    }

    private func enqueue(_ input: CoreInput, droppable: Bool, trace: UInt64? = nil) {
        if droppable, pending.increment() > mailboxMax {
            pending.decrement()
            metrics.dropped(reason: "mailbox_full")
            transport.traffic?.dropped(trace)
            return
        }
        if !droppable { pending.incrementUnbounded() }
        queue.async { [self] in
            pending.decrement()
            // Recorded when the role takes it, as the simulator records a delivery; a message
            // still queued when the process dies was never delivered.
            if !stopped { transport.traffic?.delivered(trace, to: address) }
            handle(input)
        }
    }

    private func handle(_ input: CoreInput) {
        guard !stopped else { return }
        runtime.handle(input, now: clock.now(), random: &random) { action in
            switch action {
            case .deliver(let to, let message):
                metrics.observeSend(message, from: address)
                if case .storeReply(_, .failed(let why)) = message {
                    // The store could not execute a request (a full disk, an unreachable
                    // database): the requester retries, but an operator needs to know.
                    logger.warning("store request failed", metadata: ["error": "\(why)"])
                }
                transport.send(message, from: address, to: to, trace: transport.traffic?.sent(message, from: address, to: to))
            case .arm(let timer, let delay, let generation):
                queue.asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: max(0, delay.nanoseconds) / clock.speedup))) { [self] in
                    // Only the newest arming fires; a cancelled or moved timer is a no-op.
                    guard !stopped, runtime.fires(timer, generation: generation) else { return }
                    handle(.timer(timer))
                }
            case .disarm:
                break
            case .observe(let observation):
                metrics.observe(observation)
                history?.record(node: address, incarnation: incarnation, observation)
                if case .ownerFenced(let task, let epoch, let current) = observation {
                    logger.info("fenced: stopped work on the task", metadata: ["task": "\(task)", "epoch": "\(epoch)", "current": "\(current.map(\.description) ?? "?")"])
                }
            }
        }
    }
}

/// A counter shared between threads.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    /// Adds one and returns the new value.
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }

    func incrementUnbounded() { _ = increment() }

    func decrement() {
        lock.lock()
        value -= 1
        lock.unlock()
    }

    var current: Int {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}

/// A role is a service: it runs until the process's graceful shutdown, then stops acting.
extension RoleHost: Service {
    public func run() async throws {
        try? await gracefulShutdown()
        stop()
    }
}
