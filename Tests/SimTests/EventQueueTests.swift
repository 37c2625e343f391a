import Testing
@testable import Sim

/// The event queue must pop exactly what a plain binary heap pops, whatever the time scales:
/// its slot width only changes speed.
@Suite("The kernel's event queue")
struct EventQueueTests {
    /// Drives the wheel and a binary heap with the same operations and compares every answer.
    struct Pair {
        var wheel = EventQueue()
        var heap = BinaryEventHeap()
        var sequence: UInt64 = 0
        var now: Int64 = 0
        var freeSlots: [Int32] = []
        var nextSlot: Int32 = 0

        mutating func insert(at time: Int64) {
            let slot = freeSlots.popLast() ?? { defer { nextSlot += 1 }; return nextSlot }()
            let entry = Scheduled(time: Instant(nanoseconds: time), sequence: sequence, slot: slot)
            sequence += 1
            wheel.insert(entry)
            heap.insert(entry)
        }

        mutating func pop() -> Bool {
            let expected = heap.popMin()
            let actual = wheel.popMin()
            #expect(actual == expected)
            guard let expected else { return false }
            now = expected.time.nanoseconds
            freeSlots.append(expected.slot)
            return true
        }

        mutating func popNotAfter(_ limit: Int64) {
            let expected = heap.min.flatMap { $0.time.nanoseconds <= limit ? $0 : nil }
            switch wheel.popMin(notAfter: Instant(nanoseconds: limit)) {
            case .empty:
                #expect(heap.count == 0)
            case .later:
                #expect(expected == nil && heap.count > 0)
            case .event(let actual):
                #expect(actual == expected)
                if let expected {
                    _ = heap.popMin()
                    now = expected.time.nanoseconds
                    freeSlots.append(expected.slot)
                }
            }
        }

        mutating func peek() {
            #expect(wheel.min == heap.min)
        }
    }

    @Test("random operations at every time scale pop in the binary heap's order")
    func matchesBinaryHeap() {
        var random = SimRandom(seed: 7)
        var pair = Pair()
        // Phases of different densities and spreads: dense ties, microsecond gaps, long timers,
        // bursts far ahead (past the wheel), so the width tunes both ways and rebuilds.
        let spreads: [Int64] = [0, 10, 1_000, 1_000_000, 10_000_000, 60_000_000_000, 3_000, 300_000_000_000, 50]
        for spread in spreads {
            for _ in 0..<3_000 { pair.insert(at: pair.now + (spread == 0 ? 0 : Int64(random.below(UInt64(spread))))) }
            for _ in 0..<20_000 {
                switch random.below(10) {
                case 0...3:
                    pair.insert(at: pair.now + (spread == 0 ? 0 : Int64(random.below(UInt64(spread)))))
                case 4...6:
                    _ = pair.pop()
                case 7:
                    pair.peek()
                    // After a peek the wheel may have moved past `now`: an insert at `now` lands
                    // behind it, in the side heap, and must still come out first.
                    pair.insert(at: pair.now)
                case 8:
                    pair.popNotAfter(pair.now + (spread == 0 ? 0 : Int64(random.below(UInt64(spread)))))
                default:
                    pair.peek()
                }
            }
        }
        while pair.pop() {}
        #expect(pair.wheel.count == 0)
    }

    @Test("an empty queue answers nil and empty; a single far event is found")
    func emptyAndFar() {
        var queue = EventQueue()
        #expect(queue.popMin() == nil)
        #expect(queue.min == nil)
        if case .empty = queue.popMin(notAfter: Instant(nanoseconds: 1_000)) {} else { Issue.record("expected empty") }
        let far = Scheduled(time: Instant(nanoseconds: 86_400_000_000_000), sequence: 0, slot: 0)
        queue.insert(far)
        if case .later = queue.popMin(notAfter: Instant(nanoseconds: 1_000)) {} else { Issue.record("expected later") }
        #expect(queue.popMin() == far)
        #expect(queue.count == 0)
    }
}
