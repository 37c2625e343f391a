import Testing
@testable import Sim

@Suite("Event queue, timers and run control")
struct KernelTests {
    @Test("events at the same instant run in insertion order")
    func sameInstantTiesBreakByInsertionOrder() throws {
        let simulation = try echoSimulation(nodes: [
            { $0.timersOnStart = [("b", .milliseconds(5)), ("a", .milliseconds(5)), ("c", .milliseconds(5))] },
        ])
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        #expect(log.observations == ["start inc=1", "timer b at 5000000", "timer a at 5000000", "timer c at 5000000"])
    }

    @Test("re-arming a timer moves it and cancelling removes it")
    func timerRearmAndCancel() throws {
        struct Rearm: SimProcess {
            typealias World = EchoWorld
            mutating func handle(_ input: ProcessInput<EchoWorld>, context: inout ProcessContext<EchoWorld>) {
                switch input {
                case .start:
                    context.setTimer(EchoTimer(name: "t"), after: .milliseconds(5))
                    context.setTimer(EchoTimer(name: "t"), after: .milliseconds(20))  // moves it
                    context.setTimer(EchoTimer(name: "gone"), after: .milliseconds(1))
                    context.cancelTimer(EchoTimer(name: "gone"))
                case .timer(let timer):
                    context.observe(EchoObservation(text: "\(timer.name)@\(context.now.nanoseconds / 1_000_000)"))
                case .message: break
                }
            }
        }
        let simulation = try Simulation<EchoWorld>(seed: 1, nodes: [NodeSpec("a") { _ in Rearm() }])
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        #expect(log.observations == ["t@20"])
    }

    @Test("messages arrive after the link latency, in virtual time")
    func deliveryTime() throws {
        let simulation = try echoSimulation(nodes: [{ $0.sendsOnStart = [(1, 42)] }, { _ in }])
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        #expect(log.observations(of: 1).last == "got 42 from 0 at 10000000")
    }

    @Test("run stops at the deadline, at a condition, and at the step budget")
    func runControl() throws {
        let simulation = try echoSimulation(nodes: [
            { $0.timersOnStart = [("a", .milliseconds(10)), ("b", .milliseconds(20)), ("c", .milliseconds(30))] },
        ])
        let log = EventLog(simulation)
        #expect(simulation.run(until: at(15)) == .deadline)
        #expect(simulation.now == at(15))
        #expect(log.observations.count == 2)
        #expect(simulation.run(condition: { log.observations.count == 3 }) == .condition)
        #expect(simulation.run(stepBudget: 0) == .stepBudget)
        #expect(simulation.runUntilQuiescent() == .quiescent)
        #expect(log.observations.last == "timer c at 30000000")
    }

    @Test("requestStop ends every later run at once")
    func stopIsSticky() throws {
        let simulation = try echoSimulation(nodes: [{ $0.timersOnStart = [("a", .milliseconds(10))] }])
        simulation.requestStop()
        #expect(simulation.run() == .stopped)
        #expect(simulation.run() == .stopped)
    }

    @Test("a bad configuration is rejected with a one-line reason")
    func badConfigurations() {
        #expect(throws: SimConfigError.unknownNode("ghost", context: "fault 'crash ghost'")) {
            try echoSimulation(nodes: [{ _ in }], faults: [FaultEntry(at: at(1), action: .crash(node: "ghost"))])
        }
        #expect(throws: SimConfigError.duplicateNode("x")) {
            try Simulation<EchoWorld>(
                seed: 1, nodes: [NodeSpec("x") { EchoNode(boot: $0) }, NodeSpec("x") { EchoNode(boot: $0) }])
        }
        let badLatency = NetworkConfig(
            defaultLink: LinkConfig(
                latency: LatencyModel(
                    min: .milliseconds(5), typical: .milliseconds(1), tail: .milliseconds(9), tailChance: .never)))
        #expect(throws: SimConfigError.self) { try echoSimulation(nodes: [{ _ in }], network: badLatency) }
    }
}

@Suite("Crash, restart and pause")
struct ProcessFaultTests {
    @Test("a crash loses volatile state, timers and in-flight inbound messages; restart is a fresh incarnation")
    func crashAndRestartSemantics() throws {
        let simulation = try echoSimulation(
            nodes: [
                { $0.sendsOnStart = [(1, 7)] },  // arrives at 10 ms, after n1 crashed at 5 ms
                { $0.timersOnStart = [("late", .milliseconds(50))] },
            ],
            faults: [
                FaultEntry(at: at(5), action: .crash(node: "n1")),
                FaultEntry(at: at(20), action: .restart(node: "n1")),
            ])
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        let n1 = log.observations(of: 1)
        #expect(n1.first == "start inc=1")
        #expect(n1.contains("start inc=2"))
        #expect(!n1.contains { $0.hasPrefix("got") }, "the in-flight message must vanish: \(n1)")
        // The first incarnation's timer (due at 50 ms) must not fire; the second one's fires at 70 ms.
        #expect(n1.filter { $0.hasPrefix("timer") } == ["timer late at 70000000"])
        #expect(log.drops.map(\.1) == [.receiverDown])
        #expect(simulation.incarnation(of: NodeID(1)) == 2)
    }

    @Test("a restarted node draws from a fresh random stream")
    func restartGetsFreshRandomStream() throws {
        struct Draw: SimProcess {
            typealias World = EchoWorld
            mutating func handle(_ input: ProcessInput<EchoWorld>, context: inout ProcessContext<EchoWorld>) {
                if case .start = input { context.observe(EchoObservation(text: "\(context.random.next())")) }
            }
        }
        let simulation = try Simulation<EchoWorld>(
            seed: 3, nodes: [NodeSpec("a") { _ in Draw() }],
            faults: [FaultEntry(at: at(1), action: .crash(node: "a")), FaultEntry(at: at(2), action: .restart(node: "a"))])
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        let draws = log.observations
        #expect(draws.count == 2)
        #expect(draws[0] != draws[1])
        var expected = SimRandom(seed: 3, key: "node/a/2")
        #expect(draws[1] == "\(expected.next())")
    }

    @Test("a paused node's inputs wait and its timers fire late, in order, after resume")
    func pauseHoldsInputsUntilResume() throws {
        let simulation = try echoSimulation(
            nodes: [
                { $0.sendsOnStart = [(1, 1), (1, 2)] },
                { $0.timersOnStart = [("t", .milliseconds(15))] },
            ],
            faults: [
                FaultEntry(at: at(5), action: .pause(node: "n1")),
                FaultEntry(at: at(40), action: .resume(node: "n1")),
            ])
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        #expect(
            log.observations(of: 1) == [
                "start inc=1", "got 1 from 0 at 40000000", "got 2 from 0 at 40000000", "timer t at 40000000",
            ])
    }
}

@Suite("Network: loss, duplication, partitions, clogs")
struct NetworkTests {
    @Test("symmetric partitions block both directions between the groups and nothing else")
    func symmetricPartition() throws {
        let simulation = try echoSimulation(
            nodes: [
                { $0.timersOnStart = [("go", .milliseconds(10))]; $0.sendsOnTimer = ["go": [(1, 1), (2, 2)]] },
                { $0.timersOnStart = [("go", .milliseconds(10))]; $0.sendsOnTimer = ["go": [(0, 3), (2, 4)]] },
                { $0.timersOnStart = [("go", .milliseconds(10))]; $0.sendsOnTimer = ["go": [(0, 5), (1, 6)]] },
            ],
            faults: [FaultEntry(at: at(1), action: .partition(id: "p", from: ["n0"], to: ["n1"], oneWay: false))])
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        let delivered = Set(log.observations.filter { $0.hasPrefix("got") }.map { $0.split(separator: " ")[1] })
        #expect(delivered == ["2", "4", "5", "6"])  // n0<->n1 cut both ways; n2 reaches everyone
        #expect(log.drops.filter { $0.1 == .partition }.count == 2)
    }

    @Test("one-way partitions block exactly one direction")
    func oneWayPartition() throws {
        let simulation = try echoSimulation(
            nodes: [
                { $0.timersOnStart = [("go", .milliseconds(10))]; $0.sendsOnTimer = ["go": [(1, 1)]] },
                { $0.timersOnStart = [("go", .milliseconds(10))]; $0.sendsOnTimer = ["go": [(0, 2)]] },
            ],
            faults: [FaultEntry(at: at(1), action: .partition(id: "p", from: ["n0"], to: ["n1"], oneWay: true))])
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        #expect(log.observations(of: 1).contains { $0.hasPrefix("got") } == false)
        #expect(log.observations(of: 0).contains("got 2 from 1 at 20000000"))
    }

    @Test("a partition cuts messages already in flight, and healing restores the link")
    func partitionCutsInFlightAndHeals() throws {
        let simulation = try echoSimulation(
            nodes: [
                { $0.sendsOnStart = [(1, 1)]; $0.timersOnStart = [("later", .milliseconds(30))]; $0.sendsOnTimer = ["later": [(1, 2)]] },
                { _ in },
            ],
            faults: [
                FaultEntry(at: at(5), action: .partition(id: "p", from: ["n0"], to: ["n1"], oneWay: false)),
                FaultEntry(at: at(20), action: .heal(id: "p")),
            ])
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        #expect(log.observations(of: 1).filter { $0.hasPrefix("got") } == ["got 2 from 0 at 40000000"])
    }

    @Test("clogged messages are held and arrive after unclog, in the order they were sent")
    func clogHoldsThenReleasesInOrder() throws {
        let network = NetworkConfig(
            defaultLink: LinkConfig(
                latency: LatencyModel(min: .milliseconds(1), typical: .milliseconds(20), tail: .milliseconds(20), tailChance: .never)))
        let simulation = try echoSimulation(
            nodes: [{ $0.sendsOnStart = (1...20).map { (1, $0) } }, { _ in }], network: network,
            faults: [
                FaultEntry(at: at(0), action: .clogLink(from: "n0", to: "n1")),
                FaultEntry(at: at(100), action: .unclogLink(from: "n0", to: "n1")),
            ])
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        let received = log.observations(of: 1).filter { $0.hasPrefix("got") }
        #expect(received.count == 20)
        // Held in arrival order; released in that order after unclog, none before 100 ms.
        for line in received {
            let time = Int64(line.split(separator: " ").last!)!
            #expect(time >= 100_000_000)
        }
        let heldOrder = log.entries.compactMap { if case .hold(let id, _, .clogged) = $0.event { id } else { nil } }
        let deliveredOrder = log.entries.compactMap { if case .deliver(let id, _, _) = $0.event { id } else { nil } }
        #expect(heldOrder.count == 20)
        #expect(deliveredOrder == heldOrder)
        #expect(simulation.heldCount == 0)
    }

    @Test("a clogged node holds traffic in both directions")
    func nodeClogHoldsBothDirections() throws {
        let simulation = try echoSimulation(
            nodes: [{ $0.sendsOnStart = [(1, 1)] }, { $0.sendsOnStart = [(0, 2)] }],
            faults: [
                FaultEntry(at: at(0), action: .clogNode(node: "n1")),
                FaultEntry(at: at(50), action: .unclogNode(node: "n1")),
            ])
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        #expect(log.observations(of: 0).contains("got 2 from 1 at 60000000"))
        #expect(log.observations(of: 1).contains("got 1 from 0 at 60000000"))
    }

    @Test("loss and duplication happen at their configured rates")
    func lossAndDuplicationRates() throws {
        let network = NetworkConfig(defaultLink: LinkConfig(dropChance: Ratio(1, 10), duplicateChance: Ratio(1, 5)))
        let simulation = try echoSimulation(nodes: [{ $0.sendsOnStart = (0..<10_000).map { (1, $0) } }, { _ in }], network: network)
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        let lost = log.drops.filter { $0.1 == .loss }.count
        let duplicated = log.entries.filter { if case .duplicate = $0.event { true } else { false } }.count
        #expect(abs(lost - 1000) < 150, "lost \(lost)")
        #expect(abs(duplicated - 1800) < 200, "duplicated \(duplicated)")  // 1/5 of the 9,000 survivors
        #expect(log.observations(of: 1).filter { $0.hasPrefix("got") }.count == 10_000 - lost + duplicated)
    }

    @Test("random latencies reorder messages on one link")
    func randomLatencyReorders() throws {
        let simulation = try echoSimulation(nodes: [{ $0.sendsOnStart = (0..<200).map { (1, $0) } }, { _ in }], network: NetworkConfig())
        let log = EventLog(simulation)
        simulation.runUntilQuiescent()
        let values = log.observations(of: 1).filter { $0.hasPrefix("got") }.map { Int($0.split(separator: " ")[1])! }
        #expect(values.count == 200)
        #expect(values != values.sorted())
    }

    @Test("the liveness helper heals every fault, restarts crashed nodes and waits for the condition")
    func livenessHealsAndWaits() throws {
        let simulation = try echoSimulation(
            nodes: [{ _ in }, { _ in }, { $0.timersOnStart = [("t", .seconds(5))]; $0.sendsOnTimer = ["t": [(0, 9)]] }],
            faults: [
                FaultEntry(at: at(1), action: .crash(node: "n0")),
                FaultEntry(at: at(2), action: .pause(node: "n1")),
                FaultEntry(at: at(3), action: .partition(id: "p", from: ["n2"], to: ["n0"], oneWay: true)),
                FaultEntry(at: at(10_000), action: .crash(node: "n2")),  // cancelled by the heal
            ])
        let log = EventLog(simulation)
        simulation.run(until: at(100))
        let result = simulation.healAndAwait(budget: .seconds(10)) {
            log.observations(of: 0).contains { $0.hasPrefix("got 9") }
        }
        #expect(result.converged)
        #expect(simulation.status(of: NodeID(0)) == .up)
        #expect(simulation.status(of: NodeID(1)) == .up)
        simulation.runUntilQuiescent()
        #expect(simulation.status(of: NodeID(2)) == .up, "the timeline after the heal must be cancelled")
    }

    @Test("the liveness helper reports a condition that never holds")
    func livenessReportsFailure() throws {
        let simulation = try echoSimulation(nodes: [{ $0.timersOnStart = [("t", .seconds(100))] }])
        let result = simulation.healAndAwait(budget: .seconds(1)) { false }
        #expect(!result.converged)
        #expect(result.stop == .deadline)
        #expect(simulation.now == at(1000))
    }
}
