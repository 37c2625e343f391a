/// A timer type the kernel can file without the standard library's hasher.
///
/// `tableKey` is a cheap digest of the timer: equal timers must have equal keys; unequal timers
/// may share one (the table then tells them apart with `==`). The default is the standard
/// library's hash, which is correct but runs a seeded SipHash for every arming, firing and
/// cancel; a world whose timers are small enums should build the key from their fields.
public protocol SimTimer: SimPayload, Hashable {
    var tableKey: UInt64 { get }
}

extension SimTimer {
    public var tableKey: UInt64 { UInt64(bitPattern: Int64(hashValue)) }
}

/// The armed timers of one node and the generation of each one's latest arming.
///
/// Why not a `Dictionary`: every arming, firing and cancel of a timer looked the timer up,
/// and the hashing (a seeded SipHash run per lookup) was a few percent of a whole simulated
/// run. This is an open-addressing table with linear probing over the timers' `tableKey`,
/// mixed by one multiplication; deletion shifts the following entries back, so there are no
/// tombstones. Nothing iterates it, so its layout never shows in a run.
@usableFromInline
struct TimerTable<Timer: SimTimer> {
    /// Per slot: 0 when empty, else the mixed key with its lowest bit set.
    @usableFromInline var marks: [UInt64] = []
    @usableFromInline var timers: [Timer?] = []
    @usableFromInline var generations: [UInt64] = []
    @usableFromInline var count = 0

    @inlinable init() {}

    @inlinable var isEmpty: Bool { count == 0 }

    /// The slot mask (the capacity is a power of two).
    @inlinable var mask: Int { marks.count &- 1 }

    @inlinable @inline(__always)
    static func mark(_ timer: Timer) -> UInt64 {
        var mixed = timer.tableKey &* 0x9E37_79B9_7F4A_7C15
        mixed ^= mixed >> 29
        return mixed | 1
    }

    /// A mark's home slot, from its high bits (the lowest bit is always set).
    @inlinable @inline(__always)
    func home(_ mark: UInt64) -> Int { Int(truncatingIfNeeded: mark >> 32) & mask }

    /// The slot holding `timer`, if it is armed.
    @inlinable
    func slot(of timer: Timer) -> Int? {
        guard count > 0 else { return nil }
        let mark = Self.mark(timer)
        var slot = home(mark)
        while true {
            let stored = marks[slot]
            if stored == 0 { return nil }
            if stored == mark, timers[slot] == timer { return slot }
            slot = (slot &+ 1) & mask
        }
    }

    /// The generation of `timer`'s latest arming; setting nil disarms it.
    @inlinable
    subscript(timer: Timer) -> UInt64? {
        get { slot(of: timer).map { generations[$0] } }
        set {
            if let generation = newValue { insert(timer, generation) } else { remove(timer) }
        }
    }

    @inlinable
    mutating func insert(_ timer: Timer, _ generation: UInt64) {
        if let slot = slot(of: timer) {
            generations[slot] = generation
            return
        }
        if (count &+ 1) &* 2 > marks.count { grow() }
        let mark = Self.mark(timer)
        var slot = home(mark)
        while marks[slot] != 0 { slot = (slot &+ 1) & mask }
        marks[slot] = mark
        timers[slot] = timer
        generations[slot] = generation
        count &+= 1
    }

    @inlinable
    mutating func remove(_ timer: Timer) {
        guard var hole = slot(of: timer) else { return }
        marks[hole] = 0
        timers[hole] = nil
        count &-= 1
        // Backward shift: an entry after the hole moves into it unless its home lies
        // (cyclically) after the hole, so every entry stays reachable from its home.
        var next = (hole &+ 1) & mask
        while marks[next] != 0 {
            let distanceFromHome = (next &- home(marks[next])) & mask
            if distanceFromHome >= (next &- hole) & mask {
                marks[hole] = marks[next]
                timers[hole] = timers[next]
                generations[hole] = generations[next]
                marks[next] = 0
                timers[next] = nil
                hole = next
            }
            next = (next &+ 1) & mask
        }
    }

    /// Disarms everything and keeps the capacity (a crashed node restarts with the same timers).
    @inlinable
    mutating func removeAll() {
        guard count > 0 else { return }
        for slot in marks.indices where marks[slot] != 0 {
            marks[slot] = 0
            timers[slot] = nil
        }
        count = 0
    }

    @usableFromInline
    mutating func grow() {
        let old = (marks, timers, generations)
        let capacity = Swift.max(8, old.0.count * 2)
        marks = Array(repeating: 0, count: capacity)
        timers = Array(repeating: nil, count: capacity)
        generations = Array(repeating: 0, count: capacity)
        for slot in old.0.indices where old.0[slot] != 0 {
            var target = home(old.0[slot])
            while marks[target] != 0 { target = (target &+ 1) & mask }
            marks[target] = old.0[slot]
            timers[target] = old.1[slot]
            generations[target] = old.2[slot]
        }
    }
}
