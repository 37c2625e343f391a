/// A binary min-heap of `Scheduled` entries in one contiguous array, ordered by (time,
/// sequence). Sequences are unique, so the order is total and any correct priority queue pops
/// the same events in the same order: replacing one keeps every trace.
///
/// Written out rather than taken from swift-collections' `Heap` (a min-max heap, which does
/// more comparisons per level to also serve the maximum the kernel never asks for). It does the
/// fewest moves a binary heap allows, sifting a hole instead of swapping. `EventQueue` keeps its
/// far-future events in one, and the rare events scheduled behind its wheel in another.
@usableFromInline
struct BinaryEventHeap {
    @usableFromInline var storage: ContiguousArray<Scheduled> = []

    @inlinable init() {}

    @inlinable var count: Int { storage.count }

    @inlinable var min: Scheduled? { storage.first }

    @inlinable mutating func insert(_ element: Scheduled) {
        storage.append(element)
        storage.withUnsafeMutableBufferPointer { heap in
            var hole = heap.count - 1
            while hole > 0 {
                let parent = (hole - 1) >> 1
                guard element < heap[parent] else { break }
                heap[hole] = heap[parent]
                hole = parent
            }
            heap[hole] = element
        }
    }

    @inlinable mutating func popMin() -> Scheduled? {
        guard let last = storage.popLast() else { return nil }
        if storage.isEmpty { return last }
        return storage.withUnsafeMutableBufferPointer { heap in
            let top = heap[0]
            let count = heap.count
            var hole = 0
            while true {
                var child = 2 * hole + 1
                if child >= count { break }
                // Branch-free choice of the smaller child (the comparison is random).
                if child + 1 < count { child += heap[child + 1] < heap[child] ? 1 : 0 }
                guard heap[child] < last else { break }
                heap[hole] = heap[child]
                hole = child
            }
            heap[hole] = last
            return top
        }
    }
}
