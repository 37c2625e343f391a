import Testing
@testable import Core

/// The runtime feeds a role through whichever `handle` it implements, and reuses one effects
/// buffer from input to input without letting one input's effects leak into the next.
@Suite("The role runtime")
struct RoleRuntimeTests {
    /// Answers each message with a reply naming the input's count, plus a timer on the first.
    struct Returning: CoreMachine {
        var inputs = 0
        mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
            inputs += 1
            var effects: [CoreEffect] = [.send(to: "peer", .submitRejected(requestID: UInt64(inputs), reason: "first"))]
            if inputs == 1 { effects.append(.setTimer(.sweep, after: .nanoseconds(5))) }
            effects.append(.send(to: "peer", .submitRejected(requestID: UInt64(inputs), reason: "last")))
            return effects
        }
    }

    /// The same role, written against the caller's buffer.
    struct Appending: CoreMachine {
        var inputs = 0
        mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R, into effects: inout [CoreEffect]) {
            inputs += 1
            effects.append(.send(to: "peer", .submitRejected(requestID: UInt64(inputs), reason: "first")))
            if inputs == 1 { effects.append(.setTimer(.sweep, after: .nanoseconds(5))) }
            effects.append(.send(to: "peer", .submitRejected(requestID: UInt64(inputs), reason: "last")))
        }
    }

    static func run(_ machine: any CoreMachine) -> [[String]] {
        var runtime = RoleRuntime(machine: machine, address: "role", incarnation: 1)
        var random = SeededSource(seed: 1)
        var log: [[String]] = []
        for now in [.zero, .nanoseconds(10)] as [Instant] {
            var actions: [String] = []
            runtime.handle(.start, now: now, random: &random) { action in
                switch action {
                case .deliver(let to, .submitRejected(let id, let reason)): actions.append("\(to) \(id) \(reason)")
                case .arm(let timer, let delay, _): actions.append("arm \(timer) \(delay.nanoseconds)")
                default: actions.append("other")
                }
            }
            log.append(actions)
        }
        return log
    }

    @Test("a role that returns its effects and one that appends them give the same actions, in order, input by input")
    func bothHandleFormsAgree() {
        let expected = [["peer 1 first", "arm sweep 5", "peer 1 last"], ["peer 2 first", "peer 2 last"]]
        #expect(Self.run(Returning()) == expected)
        #expect(Self.run(Appending()) == expected)
    }
}
