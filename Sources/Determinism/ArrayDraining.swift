extension Array {
    /// Hands every element to `body` in order, moving each out rather than copying it, and
    /// leaves the array empty with its capacity, ready to be filled again.
    ///
    /// The kernel and the role runtime apply a handler's effects this way: a copy of an effect
    /// (and of the message in it) goes through its type's value witness, and copying each one
    /// out, then destroying the copy and the original, was a tenth of the kernel's time. Popping
    /// from the end moves; reversing first (only when there is an order to keep) keeps the
    /// handler's order; and the array ends empty without `removeAll(keepingCapacity:)`, which
    /// goes through the general range replacement.
    @inlinable
    public mutating func drainInOrder(_ body: (Element) throws -> Void) rethrows {
        if count > 1 { reverse() }
        while let element = popLast() { try body(element) }
    }
}
