import Core

/// A checker of one invariant: fed every observation in trace order (and, if it wants them,
/// the message traffic), then the final audit.
public protocol InvariantChecker {
    var invariant: Invariant { get }
    mutating func observe(_ event: ObservedEvent)
    /// Message traffic: the sends of the message kinds `MessageEvent` carries, the deliveries,
    /// drops and duplicates of those messages, and every start.
    mutating func observeMessage(_ event: MessageEvent)
    /// Whether the checker wants `observeMessage` calls (true unless it says otherwise). A run
    /// delivers tens of thousands of messages; the suite passes them only to checkers that
    /// want them, and the run observer builds no message events when none does.
    var observesMessages: Bool { get }
    /// `end`: the virtual time the run ended.
    mutating func audit(_ snapshot: StoreSnapshot, end: Instant)
    var violations: [Violation] { get }
    /// What the checker examined, in a few words, for reports ("8 tasks, 3 aborts").
    var evidence: String { get }
}

extension InvariantChecker {
    public mutating func observeMessage(_ event: MessageEvent) {}
    public var observesMessages: Bool { true }
    public mutating func audit(_ snapshot: StoreSnapshot, end: Instant) {}
    public var evidence: String { "" }
}

/// A checker the registry can build: its invariant's metadata, and a way to make it from what
/// the run tells the checkers.
public protocol RegisteredChecker: InvariantChecker {
    /// The invariant's name in reports ("epoch monotonicity").
    static var name: String { get }
    /// Judged only when the run had a liveness phase (it judges how the run ended).
    static var needsLiveness: Bool { get }
    init(context: CheckContext)
}
