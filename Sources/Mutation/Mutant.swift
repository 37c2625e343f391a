/// One planted change: where it is, what it does, and the switch that turns it on in the
/// schemata build (`AGENTOS_MUTANT=<id>`).
public struct Mutant: Codable, Hashable, Sendable {
    /// The run-time switch: 1, 2, ... in file then source order; 0 means no mutant.
    public var id: Int
    /// A name that survives edits elsewhere in the file (unlike a line number): the file, the
    /// enclosing declaration, the operator, a digest of the original code and its occurrence
    /// there. Allowlists name mutants by it.
    public var key: String
    /// The file, relative to the target's source folder.
    public var file: String
    public var line: Int
    public var column: Int
    /// The enclosing function, accessor or type (`AgentProxy.transientFailure`).
    public var function: String
    public var mutationOperator: MutationOperator
    /// The source lines the mutant touches, before and after: the report's diff.
    public var before: String
    public var after: String

    enum CodingKeys: String, CodingKey {
        case id, key, file, line, column, function, before, after
        case mutationOperator = "operator"
    }

    /// The mutant's diff in unified style: `-` lines then `+` lines.
    public var diff: String {
        let removed = before.split(separator: "\n", omittingEmptySubsequences: false).map { "- \($0)" }
        let added = after.isEmpty ? [] : after.split(separator: "\n", omittingEmptySubsequences: false).map { "+ \($0)" }
        return (removed + added).joined(separator: "\n")
    }
}

/// The list of mutants of one schemata generation, as written next to the generated sources.
public struct MutantManifest: Codable, Sendable {
    public var target: String
    /// A digest of the target's unmutated sources: a manifest from other sources is stale.
    public var sourceDigest: String
    public var mutants: [Mutant]
    /// Mutants generated but left out because the schemata build rejected them.
    public var uncompilable: [Mutant]
    /// A digest of every generated file: a build from other schemata is not reused.
    public var schemataDigest: String?

    public init(target: String, sourceDigest: String, mutants: [Mutant], uncompilable: [Mutant] = []) {
        self.target = target
        self.sourceDigest = sourceDigest
        self.mutants = mutants
        self.uncompilable = uncompilable
    }
}

/// FNV-1a, 64 bits, as hex: a stable short digest for mutant keys and source digests.
func fnv1a(_ text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
