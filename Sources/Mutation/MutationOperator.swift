/// The kinds of mistake `agentos mutate` plants in a target's sources: each a small change a
/// programmer could make in a distributed role (a fence check relaxed, an effect forgotten, a
/// counter one off), found syntactically by swift-syntax and never by text search.
public enum MutationOperator: String, Codable, CaseIterable, Sendable, Comparable {
    /// `<` ↔ `<=`, `>` ↔ `>=`: a fence or a deadline judged one step too loose or too strict.
    case relaxComparison = "relax-comparison"
    /// `==` ↔ `!=`: an identity test (an owner, an epoch, an incarnation) inverted.
    case negateEquality = "negate-equality"
    /// A `guard`'s condition replaced by `true`: the check is dropped and the code goes on.
    case dropGuard = "drop-guard"
    /// An `if`'s condition replaced by `true`: the branch always runs.
    case conditionTrue = "condition-true"
    /// An `if`'s condition replaced by `false`: the branch never runs.
    case conditionFalse = "condition-false"
    /// A handler returns before its first statement: the message or timer is ignored.
    case earlyReturn = "early-return"
    /// An `effects.append(...)`: a message, a timer, a store call or an observation not emitted.
    case dropEffect = "drop-effect"
    /// Two adjacent effects emitted in the other order (persist and acknowledge swapped).
    case swapEffects = "swap-effects"
    /// A call that takes `&effects` (a handler step: abort, stop, retry) not made.
    case dropCall = "drop-call"
    /// An assignment to state not made: a cache not invalidated, a counter not moved, a
    /// timestamp not refreshed.
    case dropAssignment = "drop-assignment"
    /// An integer limit in a comparison one more: a retry limit, a window, a count.
    case offByOne = "off-by-one"
    /// `x + 1` or `x - 1` replaced by `x`: the old epoch, incarnation or index reused.
    case reuseOld = "reuse-old"

    public var summary: String {
        switch self {
        case .relaxComparison: "an ordering comparison one step looser or stricter (< and <=, > and >=)"
        case .negateEquality: "an equality test inverted (== and !=)"
        case .dropGuard: "a guard's condition replaced by true"
        case .conditionTrue: "an if's condition replaced by true"
        case .conditionFalse: "an if's condition replaced by false"
        case .earlyReturn: "a handler returning before its first statement"
        case .dropEffect: "an effect (message, timer, store call, observation) not emitted"
        case .swapEffects: "two adjacent effects emitted in the other order"
        case .dropCall: "a handler step taking &effects not called"
        case .dropAssignment: "an assignment to state not made"
        case .offByOne: "an integer limit in a comparison one more"
        case .reuseOld: "x + 1 or x - 1 replaced by x (the old epoch, incarnation or index)"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Parses a comma-separated list of operator names (nil or empty: every operator).
    public static func parseList(_ text: String?) throws -> [MutationOperator] {
        guard let text, !text.isEmpty else { return allCases }
        return try text.split(separator: ",").map { name in
            guard let found = MutationOperator(rawValue: String(name)) else {
                throw MutationError("unknown mutation operator '\(name)'; known: \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return found
        }
    }
}

public struct MutationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
