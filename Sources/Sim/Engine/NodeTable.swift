/// The nodes' slots: a fixed-size table in plain memory, read and modified in place through
/// its subscript like an array.
///
/// Why not an array: the kernel touches a node's slot several times per step (status,
/// incarnation, random stream, process), and every in-place modification of an array element
/// pays a copy-on-write uniqueness check. The node count never changes after the simulation is
/// built, so nothing here needs an array's growth or sharing. The kernel owns the one table and
/// never copies it.
@usableFromInline
struct NodeTable<W: SimWorld> {
    @usableFromInline let memory: NodeTableMemory<W>
    @usableFromInline let base: UnsafeMutablePointer<NodeSlot<W>>
    @usableFromInline let count: Int

    init(count: Int) {
        memory = NodeTableMemory(count: count)
        base = memory.base
        self.count = count
    }

    @inlinable var indices: Range<Int> { 0..<count }

    /// A field of a node's slot, in place: valid as long as the table lives (it never moves).
    @inlinable @inline(__always)
    func pointer<T>(to index: Int, _ field: WritableKeyPath<NodeSlot<W>, T>) -> UnsafeMutablePointer<T> {
        precondition(index >= 0 && index < count, "node index \(index) outside 0..<\(count)")
        let offset = MemoryLayout<NodeSlot<W>>.offset(of: field)!
        return (UnsafeMutableRawPointer(base + index) + offset).assumingMemoryBound(to: T.self)
    }

    @inlinable subscript(index: Int) -> NodeSlot<W> {
        @inline(__always) _read {
            precondition(index >= 0 && index < count, "node index \(index) outside 0..<\(count)")
            yield base[index]
        }
        @inline(__always) nonmutating _modify {
            precondition(index >= 0 && index < count, "node index \(index) outside 0..<\(count)")
            yield &base[index]
        }
    }
}

@usableFromInline
final class NodeTableMemory<W: SimWorld> {
    @usableFromInline let base: UnsafeMutablePointer<NodeSlot<W>>
    @usableFromInline let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: Swift.max(count, 1))
        base.initialize(repeating: NodeSlot(), count: count)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }
}
