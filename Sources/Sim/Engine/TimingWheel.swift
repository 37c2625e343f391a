/// The kernel's event queue: a timing wheel of unsorted slots for the near future, a binary heap
/// for the far future, and a binary heap for the rare keys that arrive behind the wheel.
///
/// Why not a binary heap alone: with thousands of events pending, every pop walks a dozen
/// levels of dependent loads, each likely a miss in the first-level cache; that was a third of
/// the kernel's time, and a heap written in C does no better. A discrete-event simulator's keys
/// are nearly monotone (each event is scheduled at or after the one being processed), which a
/// wheel exploits: an insert links the entry into the slot of its time, a pop scans one slot
/// of a few entries, and a bitmap finds the next occupied slot.
///
/// The order is exact whatever the tuning: a slot covers one interval of time, every key in it
/// is compared in full (time, then sequence), earlier slots hold earlier times, the far-future
/// heap holds only keys past the wheel's end, and `below` only keys before its start. So any
/// slot width pops the same events in the same order as any other correct priority queue: the
/// width only changes the speed, and it adapts to the run (narrower when slots get crowded,
/// wider when most events land past the wheel).
///
/// The wheel's entries live in a buffer indexed by the event's payload slot (the low 24 bits of
/// its key), which the kernel already allocates and frees one per pending event: no allocation
/// per insert. An entry is its key with those 24 bits replaced by the next entry of its slot:
/// the index is where the entry is stored, so 16 bytes hold key and link, and a slot's scan
/// stays in the first-level cache.
@usableFromInline
struct EventQueue {
    @usableFromInline static let slotCount = 4096
    @usableFromInline static let slotMask = UInt64(slotCount - 1)
    /// How many operations between two looks at whether the width suits the run.
    @usableFromInline static let tuningPeriod = 4096

    /// Owns the memory below; the pointers are copied here so that the hot path reads struct
    /// fields (a class's `var` pays a dynamic exclusivity check on every access).
    @usableFromInline let memory = WheelMemory(slotCount: EventQueue.slotCount)
    @usableFromInline let heads: UnsafeMutablePointer<Int32>
    @usableFromInline let occupied: UnsafeMutablePointer<UInt64>
    @usableFromInline var entries: UnsafeMutablePointer<UInt128>
    @usableFromInline var capacity: Int
    /// The low bits of a key (the payload slot), which in an entry hold the link instead.
    /// (Literals, not stored constants: a static `let` is read through a lazy initializer.)
    @inlinable static var linkMask: UInt128 { 0xFF_FFFF }
    /// The link of a slot's last entry.
    @inlinable static var noEntry: Int { 0xFF_FFFF }
    /// log2 of a slot's width in nanoseconds.
    @usableFromInline var shift: UInt64 = 16
    /// The absolute slot number (ordered time >> shift) the wheel starts at; the wheel covers
    /// `cursor ..< cursor + slotCount`.
    @usableFromInline var cursor: UInt64 = 0
    @usableFromInline var inWheel = 0
    @usableFromInline var farFuture = BinaryEventHeap()
    @usableFromInline var below = BinaryEventHeap()
    /// The current slot's smallest entry, found by a peek (or by a deadline pop that left it
    /// queued) and kept for the next pop; dropped when the slot gains an entry.
    @usableFromInline var peeked: (key: UInt128, previous: Int32)?
    @usableFromInline var lastScanLength = 0
    // Tuning counters since the last look.
    @usableFromInline var operations = 0
    @usableFromInline var inserts = 0
    @usableFromInline var farInserts = 0
    @usableFromInline var scanned = 0
    @usableFromInline var pops = 0

    @inlinable init() {
        heads = memory.heads
        occupied = memory.occupied
        entries = memory.entries
        capacity = memory.capacity
    }

    @inlinable var count: Int { inWheel + farFuture.count + below.count }

    @inlinable @inline(__always)
    static func orderedTime(_ key: UInt128) -> UInt64 { Scheduled(key: key).orderedTime }

    @inlinable @inline(__always)
    static func entry(_ key: UInt128) -> Int { Int(Scheduled(key: key).slot) }

    @inlinable mutating func insert(_ element: Scheduled) {
        if place(element) { farInserts &+= 1 }
        inserts &+= 1
        operations &+= 1
        if operations >= Self.tuningPeriod { tune() }
    }

    /// Puts the entry where its time belongs; true when that is past the wheel.
    @inlinable @inline(__always)
    mutating func place(_ element: Scheduled) -> Bool {
        let absolute = Self.orderedTime(element.key) >> shift
        if absolute < cursor {
            below.insert(element)
        } else if absolute &- cursor < UInt64(Self.slotCount) {
            link(element.key, slot: Int(absolute & Self.slotMask))
        } else {
            farFuture.insert(element)
            return true
        }
        return false
    }

    @inlinable @inline(__always)
    mutating func link(_ key: UInt128, slot: Int) {
        let entry = Self.entry(key)
        if entry >= capacity {
            memory.grow(to: entry + 1)
            entries = memory.entries
            capacity = memory.capacity
        }
        let head = heads[slot]
        entries[entry] = key & ~Self.linkMask | UInt128(head < 0 ? Self.noEntry : Int(head))
        heads[slot] = Int32(truncatingIfNeeded: entry)
        if UInt64(slot) == cursor & Self.slotMask { peeked = nil }
        occupied[slot >> 6] |= 1 &<< UInt64(slot & 63)
        inWheel &+= 1
    }

    /// The next entry, without removing it. May move the wheel forward, so a later insert
    /// before the returned key goes to `below`.
    @inlinable var min: Scheduled? {
        mutating get {
            if let first = below.min { return first }
            guard advanceToOccupiedSlot() else { return nil }
            if let peeked { return Scheduled(key: peeked.key) }
            guard let smallest = smallestOrDrain() else { return below.min }
            peeked = smallest
            return Scheduled(key: smallest.key)
        }
    }

    /// What `popMin(notAfter:)` found.
    @usableFromInline enum Pop {
        case empty
        /// The next event lies after the limit; it stays queued.
        case later
        case event(Scheduled)
    }

    /// Pops the next entry if its time is not after `limit`: a peek and a pop in one scan.
    @inlinable mutating func popMin(notAfter limit: Instant) -> Pop {
        let limitKey = UInt128(Scheduled.ordered(limit)) << 64 | UInt128(UInt64.max)
        if let first = below.min {
            guard first.key <= limitKey else { return .later }
            _ = below.popMin()
            return .event(first)
        }
        guard advanceToOccupiedSlot() else { return .empty }
        guard let smallest = peeked ?? smallestOrDrain() else { return popMin(notAfter: limit) }
        guard smallest.key <= limitKey else {
            peeked = smallest
            return .later
        }
        peeked = nil
        return .event(unlink(smallest))
    }

    @inlinable mutating func popMin() -> Scheduled? {
        if below.count > 0 { return below.popMin() }
        guard advanceToOccupiedSlot() else { return nil }
        guard let smallest = peeked ?? smallestOrDrain() else { return below.popMin() }
        peeked = nil
        return unlink(smallest)
    }

    /// Unlinks the current slot's smallest entry.
    @inlinable @inline(__always)
    mutating func unlink(_ smallest: (key: UInt128, previous: Int32)) -> Scheduled {
        let (key, previous) = smallest
        let slot = Int(cursor & Self.slotMask)
        let entry = Self.entry(key)
        let after = Int(entries[entry] & Self.linkMask)
        if previous < 0 {
            heads[slot] = after == Self.noEntry ? -1 : Int32(truncatingIfNeeded: after)
            if after == Self.noEntry { occupied[slot >> 6] &= ~(1 &<< UInt64(slot & 63)) }
        } else {
            entries[Int(previous)] = entries[Int(previous)] & ~Self.linkMask | UInt128(after)
        }
        inWheel &-= 1
        pops &+= 1
        operations &+= 1
        if operations >= Self.tuningPeriod { tune() }
        return Scheduled(key: key)
    }

    /// A slot holding more entries than this is moved into `below`: many events at one
    /// instant (a burst of simultaneous timers, links without latency) cannot be split by a
    /// narrower slot, and scanning them on every pop would be quadratic.
    @inlinable static var crowdedSlot: Int { 48 }

    /// The current slot's smallest entry; or nil when the slot was crowded and its entries
    /// moved to `below`, which then holds the next event.
    @inlinable @inline(__always)
    mutating func smallestOrDrain() -> (key: UInt128, previous: Int32)? {
        let smallest = smallestInCurrentSlot()
        guard lastScanLength > Self.crowdedSlot else { return smallest }
        drainCurrentSlot()
        return nil
    }

    /// Moves the current slot's entries into `below` and steps the wheel past the slot, so
    /// that `below` keeps holding exactly the keys before the wheel (later inserts into the
    /// same interval go there too) and is served first.
    @inlinable mutating func drainCurrentSlot() {
        let slot = Int(cursor & Self.slotMask)
        var entry = Int(heads[slot])
        while entry != Self.noEntry {
            let word = entries[entry]
            below.insert(Scheduled(key: word & ~Self.linkMask | UInt128(entry)))
            inWheel &-= 1
            entry = Int(word & Self.linkMask)
        }
        heads[slot] = -1
        occupied[slot >> 6] &= ~(1 &<< UInt64(slot & 63))
        peeked = nil
        cursor &+= 1
        pullFarFuture()
    }

    /// The current slot's smallest key and the entry linked before it (-1: it is the head).
    @inlinable @inline(__always)
    mutating func smallestInCurrentSlot() -> (key: UInt128, previous: Int32) {
        // Whole entries compare like their keys: the sequences above the links are unique.
        var entry = Int(heads[Int(cursor & Self.slotMask)])
        var best = entries[entry]
        var bestEntry = entry
        var bestPrevious = -1
        var previous = entry
        entry = Int(best & Self.linkMask)
        var length = 1
        while entry != Self.noEntry {
            let word = entries[entry]
            if word < best {
                best = word
                bestEntry = entry
                bestPrevious = previous
            }
            previous = entry
            entry = Int(word & Self.linkMask)
            length &+= 1
        }
        scanned &+= length
        lastScanLength = length
        return (best & ~Self.linkMask | UInt128(bestEntry), Int32(truncatingIfNeeded: bestPrevious))
    }

    /// Moves the cursor to the first occupied slot, pulling in far-future events the wheel now
    /// reaches. False when nothing is left in the wheel or beyond it.
    @inlinable @inline(__always)
    mutating func advanceToOccupiedSlot() -> Bool {
        if heads[Int(cursor & Self.slotMask)] >= 0 { return true }
        return advanceToNextOccupiedSlot()
    }

    @inlinable mutating func advanceToNextOccupiedSlot() -> Bool {
        if inWheel > 0 {
            cursor &+= UInt64(memory.distanceToNextOccupied(from: Int(cursor & Self.slotMask)))
        } else if let upcoming = farFuture.min {
            cursor = Self.orderedTime(upcoming.key) >> shift
        } else {
            return false
        }
        pullFarFuture()
        return true
    }

    /// Moves in the far-future keys the wheel now covers. Every far-future key was at or past
    /// the wheel's old end, so none lies before the new cursor.
    @inlinable mutating func pullFarFuture() {
        while let upcoming = farFuture.min, (Self.orderedTime(upcoming.key) >> shift) &- cursor < UInt64(Self.slotCount) {
            _ = farFuture.popMin()
            link(upcoming.key, slot: Int((Self.orderedTime(upcoming.key) >> shift) & Self.slotMask))
        }
    }

    /// Every `tuningPeriod` operations: halve the slot width when peeks scan more than three
    /// entries on average, double it when a quarter of the inserts overshoot the wheel and
    /// slots hold about one entry. Rebuilding moves every
    /// entry once; it is rare, and the order does not depend on it.
    @inlinable mutating func tune() {
        let meanScan = pops > 0 ? scanned / pops : 0
        var newShift = shift
        if meanScan > 3, shift > 0 {
            newShift = shift - 1
        } else if farInserts * 4 > inserts, meanScan < 2, shift < 40 {
            newShift = shift + 1
        }
        operations = 0
        inserts = 0
        farInserts = 0
        scanned = 0
        pops = 0
        if newShift != shift { rebuild(shift: newShift) }
    }

    @inlinable mutating func rebuild(shift newShift: UInt64) {
        var gathered: [UInt128] = []
        gathered.reserveCapacity(inWheel + farFuture.count)
        for slot in 0..<Self.slotCount {
            var entry = heads[slot] < 0 ? Self.noEntry : Int(heads[slot])
            while entry != Self.noEntry {
                gathered.append(entries[entry] & ~Self.linkMask | UInt128(entry))
                entry = Int(entries[entry] & Self.linkMask)
            }
            heads[slot] = -1
        }
        for word in 0..<Self.slotCount / 64 { occupied[word] = 0 }
        while let far = farFuture.popMin() { gathered.append(far.key) }
        inWheel = 0
        peeked = nil
        shift = newShift
        // The wheel starts at the earliest remaining key (or where it was, scaled).
        if let earliest = gathered.min() { cursor = Self.orderedTime(earliest) >> shift }
        // Placed without counting: a rebuild is not an operation of the run, and must not
        // trigger another look at the width halfway through.
        for key in gathered { _ = place(Scheduled(key: key)) }
    }
}

/// The wheel's memory: slot heads, the occupied-slot bitmap, and each entry's key and link,
/// by entry. Plain buffers behind a reference that frees them, so the hot path pays no
/// copy-on-write check; the kernel owns exactly one queue and never copies it.
@usableFromInline
final class WheelMemory {
    @usableFromInline let slotCount: Int
    @usableFromInline let heads: UnsafeMutablePointer<Int32>
    @usableFromInline let occupied: UnsafeMutablePointer<UInt64>
    @usableFromInline var entries: UnsafeMutablePointer<UInt128>
    @usableFromInline var capacity: Int

    @usableFromInline init(slotCount: Int) {
        self.slotCount = slotCount
        heads = .allocate(capacity: slotCount)
        heads.initialize(repeating: -1, count: slotCount)
        occupied = .allocate(capacity: slotCount / 64)
        occupied.initialize(repeating: 0, count: slotCount / 64)
        capacity = 1024
        entries = .allocate(capacity: capacity)
    }

    deinit {
        heads.deallocate()
        occupied.deallocate()
        entries.deallocate()
    }

    @usableFromInline func grow(to needed: Int) {
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let newEntries = UnsafeMutablePointer<UInt128>.allocate(capacity: newCapacity)
        newEntries.moveInitialize(from: entries, count: capacity)
        entries.deallocate()
        entries = newEntries
        capacity = newCapacity
    }

    /// Slots from `start` to the next occupied one, wrapping around; the caller knows one is.
    @inlinable func distanceToNextOccupied(from start: Int) -> Int {
        let words = slotCount / 64
        var word = start >> 6
        var bits = occupied[word] & (~0 &<< UInt64(start & 63))
        var steps = 0
        while bits == 0 {
            word = (word + 1) & (words - 1)
            bits = occupied[word]
            steps += 1
            precondition(steps <= words, "event queue: \(slotCount) slots and none occupied, but entries are counted")
        }
        let slot = word << 6 | bits.trailingZeroBitCount
        return (slot - start) & (slotCount - 1)
    }
}

