/// The one interpreter of a role: it feeds the role its inputs and turns the effects into what
/// a shell must do, keeping the role's timers (each arming has a generation, so a cancelled or
/// moved timer never fires). It does no IO and reads no clock: the simulator, the real shell and
/// `CoreTesting` are thin adapters around it that deliver, sleep and record.
public struct RoleRuntime {
    /// What the shell does for one effect, in the order the role asked.
    public enum Action {
        /// Hand the message to `to`'s mailbox or link (or the simulated network).
        case deliver(to: Address, CoreMessage)
        /// Fire `timer` after `after` nanoseconds, then call `fires(_:generation:)` with `generation`.
        case arm(CoreTimer, after: Interval, generation: UInt64)
        /// The timer is off; a shell with its own timer wheel may drop it.
        case disarm(CoreTimer)
        case observe(CoreObservation)
    }

    public private(set) var machine: any CoreMachine
    public let address: Address
    public let incarnation: UInt32
    private var armed: [CoreTimer: UInt64] = [:]
    private var generation: UInt64 = 0
    /// The effects buffer, kept between inputs for its capacity.
    private var effectBuffer: [CoreEffect] = []
    /// False for a shell whose own timer wheel fires only a timer's latest arming (the
    /// simulator's kernel): the runtime then skips its bookkeeping, which the kernel's hot loop
    /// would pay for on every timer.
    private let tracksTimers: Bool

    public init(machine: any CoreMachine, address: Address, incarnation: UInt32, tracksTimers: Bool = true) {
        self.machine = machine
        self.address = address
        self.incarnation = incarnation
        self.tracksTimers = tracksTimers
    }

    /// Feeds one input at `now`; `perform` gets each resulting action in order.
    public mutating func handle<R: RandomSource>(_ input: CoreInput, now: Instant, random: inout R, perform: (Action) -> Void) {
        let context = CoreContext(now: now, address: address, incarnation: incarnation)
        var effects = effectBuffer
        effectBuffer = []
        machine.handle(input, context: context, random: &random, into: &effects)
        effects.drainInOrder { effect in
            switch effect {
            case .send(let to, let message):
                perform(.deliver(to: to, message))
            case .setTimer(let timer, let delay):
                generation += 1
                if tracksTimers { armed[timer] = generation }
                perform(.arm(timer, after: delay, generation: generation))
            case .cancelTimer(let timer):
                if !tracksTimers || armed.removeValue(forKey: timer) != nil { perform(.disarm(timer)) }
            case .observe(let observation):
                perform(.observe(observation))
            }
        }
        effectBuffer = effects
    }

    /// Whether a timer coming due is still armed as `generation`; if so it is disarmed and the
    /// shell feeds `.timer(timer)`. Without timer tracking (or with a nil generation) the
    /// shell's own timer wheel vouches that it is the latest arming.
    public mutating func fires(_ timer: CoreTimer, generation: UInt64?) -> Bool {
        guard tracksTimers else { return true }
        guard let current = armed[timer], generation == nil || generation == current else { return false }
        armed[timer] = nil
        return true
    }
}
