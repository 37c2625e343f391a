import Foundation

/// A role's outstanding store requests. A lost reply is an ambiguous outcome, so each request
/// is re-sent on a timer with the same request id; every store write is idempotent or fenced,
/// so a retry can never do harm. After `attemptsMax` tries the caller is told it failed.
struct StoreCalls<Purpose> {
    struct Pending {
        var request: StoreRequest
        var purpose: Purpose
        var attempts: Int
    }

    let store: Address
    let timeout: Interval
    let attemptsMax: Int
    var ids: RequestIDs
    private(set) var pending: [UInt64: Pending] = [:]

    init(store: Address, timeout: Interval, attemptsMax: Int, incarnation: UInt32) {
        self.store = store
        self.timeout = timeout
        self.attemptsMax = attemptsMax
        ids = RequestIDs(incarnation: incarnation)
    }

    mutating func call(_ request: StoreRequest, for purpose: Purpose, into effects: inout [CoreEffect]) {
        let id = ids.make()
        pending[id] = Pending(request: request, purpose: purpose, attempts: 1)
        effects.append(.send(to: store, .storeRequest(requestID: id, request)))
        effects.append(.setTimer(.storeRetry(requestID: id), after: timeout))
    }

    /// The purpose of a reply's request, or nil for a reply nobody waits for any more.
    mutating func reply(_ requestID: UInt64, into effects: inout [CoreEffect]) -> Purpose? {
        guard let call = pending.removeValue(forKey: requestID) else { return nil }
        effects.append(.cancelTimer(.storeRetry(requestID: requestID)))
        return call.purpose
    }

    /// The retry timer fired: re-sends, or gives up and returns the purpose.
    mutating func retry(_ requestID: UInt64, into effects: inout [CoreEffect]) -> Purpose? {
        guard var call = pending[requestID] else { return nil }
        guard call.attempts < attemptsMax else {
            pending[requestID] = nil
            return call.purpose
        }
        call.attempts += 1
        pending[requestID] = call
        effects.append(.send(to: store, .storeRequest(requestID: requestID, call.request)))
        effects.append(.setTimer(.storeRetry(requestID: requestID), after: timeout))
        return nil
    }

    /// Forgets every pending request matching `predicate` (its owner stopped caring).
    mutating func drop(where predicate: (Purpose) -> Bool, into effects: inout [CoreEffect]) {
        for id in pending.keys.sorted() where predicate(pending[id]!.purpose) {
            pending[id] = nil
            effects.append(.cancelTimer(.storeRetry(requestID: id)))
        }
    }
}

/// Encodes values for the store and prompts with sorted keys, so the same value always gives
/// the same bytes (and the same digests).
public enum CanonicalJSON {
    public static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoderFactory.make()
        guard let data = try? encoder.encode(value) else { preconditionFailure("a core value failed to encode: \(value)") }
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) -> T? {
        try? JSONDecoderFactory.make().decode(type, from: Data(text.utf8))
    }
}

/// Canonical texts and decoded plans, remembered per process. A plan's text is written at every
/// submit and read back by every new owner and every checker's audit, and Foundation's JSON
/// coders took a few percent of a simulated run doing it again for values they had seen.
/// Coding is a pure function, so a remembered result is the one coding would give; the tables
/// are shared by the runs of a process (explore runs seeds on several threads), hence the locks,
/// and bounded.
extension CanonicalJSON {
    private static let plansByText = Memo<String, TaskPlan?>()
    private static let textsOfPlans = Memo<TaskPlan, String>()
    private static let textsOfQueries = Memo<Query, String>()

    /// The plan a stored text decodes to (nil: it does not parse).
    public static func plan(from text: String) -> TaskPlan? {
        plansByText.value(for: text) { decode(TaskPlan.self, from: $0) }
    }

    public static func text(of plan: TaskPlan) -> String { textsOfPlans.value(for: plan) { encode($0) } }
    public static func text(of query: Query) -> String { textsOfQueries.value(for: query) { encode($0) } }

    /// A bounded table of a pure function's results; it starts over when full.
    final class Memo<Key: Hashable, Value>: @unchecked Sendable {
        // Guarded by `lock`.
        private let lock = NSLock()
        private var values: [Key: Value] = [:]
        static var entryLimit: Int { 2048 }

        func value(for key: Key, _ compute: (Key) -> Value) -> Value {
            if let known = lock.withLock({ values[key] }) { return known }
            let value = compute(key)
            lock.withLock {
                if values.count >= Self.entryLimit { values.removeAll(keepingCapacity: true) }
                values[key] = value
            }
            return value
        }
    }
}
