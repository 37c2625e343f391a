import Core
import FakeLLM
import Foundation
import Logging

/// Runs one Core role for real: the same state machine as in the simulator, fed by HTTP
/// deliveries and real timers, its sends handed to the transport.
public actor RoleHost {
    public let address: Address
    public let incarnation: UInt32
    private var machine: any CoreMachine
    private var random: SeededSource
    private let transport: Transport
    private let metrics: ServerMetrics
    private let logger: Logger
    private let start = ContinuousClock.now
    private var timers: [CoreTimer: (generation: UInt64, task: Task<Void, Never>)] = [:]
    private var nextGeneration: UInt64 = 0

    init(address: Address, incarnation: UInt32, machine: any CoreMachine, transport: Transport, metrics: ServerMetrics, logger: Logger) {
        self.address = address
        self.incarnation = incarnation
        self.machine = machine
        self.transport = transport
        self.metrics = metrics
        self.logger = logger
        random = SeededSource(seed: UInt64(incarnation) << 32 ^ StableDigest.of(address))
    }

    func nanos() -> Nanos {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }

    public func boot() { deliver(.start) }

    public func receive(_ envelope: Envelope) { deliver(.message(from: envelope.from, envelope.message)) }

    /// Cancels every timer: the role stops acting (on shutdown).
    public func stop() {
        for (_, timer) in timers { timer.task.cancel() }
        timers = [:]
    }

    private func fire(_ timer: CoreTimer, generation: UInt64) {
        guard timers[timer]?.generation == generation else { return }
        timers[timer] = nil
        deliver(.timer(timer))
    }

    private func deliver(_ input: CoreInput) {
        let context = CoreContext(now: nanos(), address: address, incarnation: incarnation)
        let effects = machine.handle(input, context: context, random: &random)
        for effect in effects {
            switch effect {
            case .send(let to, let message):
                metrics.observeSend(message, from: address)
                let transport = self.transport
                let from = address
                Task { await transport.send(message, from: from, to: to) }
            case .setTimer(let timer, let delay):
                timers[timer]?.task.cancel()
                nextGeneration += 1
                let generation = nextGeneration
                let task = Task { [weak self] in
                    try? await Task.sleep(for: .nanoseconds(max(0, delay)))
                    guard !Task.isCancelled else { return }
                    await self?.fire(timer, generation: generation)
                }
                timers[timer] = (generation, task)
            case .cancelTimer(let timer):
                timers.removeValue(forKey: timer)?.task.cancel()
            case .observe(let observation):
                metrics.observe(observation)
                if case .ownerFenced(let task, let epoch, let current) = observation {
                    logger.info("fenced: stopped work on the task", metadata: ["task": "\(task)", "epoch": "\(epoch)", "current": "\(current.map(\.description) ?? "?")"])
                }
            }
        }
    }
}
