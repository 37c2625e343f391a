/// What each pending queue event carries, by slot: the queue orders small keys and the
/// payloads stay here, so the queue never moves a message.
///
/// Plain memory behind a reference that frees it (as in `EventQueue`): every step takes one
/// payload and stores one, and an array's copy-on-write check on each of those was a twentieth
/// of the kernel's time. Free slots hold nil; a stack of free slot numbers reuses them, so the
/// slab is as large as the most events ever pending at once.
@usableFromInline
struct PayloadSlab<W: SimWorld> {
    @usableFromInline let memory = SlabMemory<W>()
    @usableFromInline var payloads: UnsafeMutablePointer<ScheduledPayload<W>?>
    @usableFromInline var freeSlots: UnsafeMutablePointer<Int32>
    @usableFromInline var freeCount = 0
    /// Slots handed out so far (the high-water mark); slots below it are either live or free.
    @usableFromInline var used = 0
    @usableFromInline var capacity: Int

    @inlinable init() {
        payloads = memory.payloads
        freeSlots = memory.freeSlots
        capacity = memory.capacity
    }

    @inlinable @inline(__always)
    mutating func store(_ payload: ScheduledPayload<W>) -> Int32 {
        let slot: Int
        if freeCount > 0 {
            freeCount &-= 1
            slot = Int(freeSlots[freeCount])
        } else {
            if used == capacity {
                memory.grow()
                payloads = memory.payloads
                freeSlots = memory.freeSlots
                capacity = memory.capacity
            }
            slot = used
            used &+= 1
        }
        payloads[slot] = payload
        return Int32(truncatingIfNeeded: slot)
    }

    /// Moves the payload out (no copy of the message) and frees the slot.
    @inlinable @inline(__always)
    mutating func take(_ slot: Int32) -> ScheduledPayload<W> {
        let index = Int(slot)
        guard let payload = (payloads + index).move() else {
            preconditionFailure("event queue slot \(slot) holds no payload")
        }
        (payloads + index).initialize(to: nil)
        freeSlots[freeCount] = slot
        freeCount &+= 1
        return payload
    }
}

@usableFromInline
final class SlabMemory<W: SimWorld> {
    @usableFromInline var payloads: UnsafeMutablePointer<ScheduledPayload<W>?>
    /// Room for every slot, so pushing a freed slot never needs to grow.
    @usableFromInline var freeSlots: UnsafeMutablePointer<Int32>
    @usableFromInline var capacity = 1024

    @usableFromInline init() {
        payloads = .allocate(capacity: capacity)
        payloads.initialize(repeating: nil, count: capacity)
        freeSlots = .allocate(capacity: capacity)
    }

    deinit {
        payloads.deinitialize(count: capacity)
        payloads.deallocate()
        freeSlots.deallocate()
    }

    @usableFromInline func grow() {
        let newCapacity = capacity * 2
        // The last slot number is the event queue's end-of-slot link.
        precondition(newCapacity < 1 << Scheduled.slotBits, "more than \((1 << Scheduled.slotBits) / 2) events pending at once")
        let newPayloads = UnsafeMutablePointer<ScheduledPayload<W>?>.allocate(capacity: newCapacity)
        newPayloads.moveInitialize(from: payloads, count: capacity)
        (newPayloads + capacity).initialize(repeating: nil, count: newCapacity - capacity)
        payloads.deallocate()
        payloads = newPayloads
        let newFree = UnsafeMutablePointer<Int32>.allocate(capacity: newCapacity)
        newFree.moveInitialize(from: freeSlots, count: capacity)
        freeSlots.deallocate()
        freeSlots = newFree
        capacity = newCapacity
    }
}
