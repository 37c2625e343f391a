/// A task as a DAG of nodes. A node's prompt includes its parents' results.
public struct TaskGraph: Codable, Hashable, Sendable {
    public var nodes: [GraphNode]

    public init(nodes: [GraphNode]) { self.nodes = nodes }

    /// Why the graph cannot run, or nil: empty, duplicate or malformed ids, a dependency on a
    /// node that does not exist, a self-dependency, a cycle.
    public func problem(nodesMax: Int, promptBytesMax: Int) -> String? {
        guard !nodes.isEmpty else { return "it has no nodes" }
        guard nodes.count <= nodesMax else { return "it has \(nodes.count) nodes; the limit is \(nodesMax)" }
        var ids = Set<String>()
        for node in nodes {
            guard !node.id.isEmpty, node.id.count <= 64, node.id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            else { return "node id '\(node.id)' must be 1-64 letters, digits, '-' or '_'" }
            guard ids.insert(node.id).inserted else { return "node id '\(node.id)' appears twice" }
            if let prompt = node.prompt, prompt.utf8.count > promptBytesMax {
                return "node '\(node.id)' prompt exceeds \(promptBytesMax) bytes"
            }
        }
        for node in nodes {
            guard Set(node.dependsOn).count == node.dependsOn.count else {
                // Each entry pastes the parent's result into the prompt once more.
                return "node '\(node.id)' lists a parent in depends_on more than once"
            }
            for parent in node.dependsOn {
                guard parent != node.id else { return "node '\(node.id)' depends on itself" }
                guard ids.contains(parent) else { return "node '\(node.id)' depends on unknown node '\(parent)'" }
            }
        }
        if topologicalOrder() == nil { return "it has a cycle" }
        return nil
    }

    /// Node ids, parents before children, ties by id; nil when there is a cycle.
    public func topologicalOrder() -> [String]? {
        var remaining = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, Set($0.dependsOn)) })
        var order: [String] = []
        while !remaining.isEmpty {
            let ready = remaining.filter { $0.value.isEmpty }.keys.sorted()
            guard !ready.isEmpty else { return nil }
            for id in ready {
                order.append(id)
                remaining[id] = nil
            }
            for key in remaining.keys.sorted() { remaining[key]!.subtract(ready) }
        }
        return order
    }

    public func node(_ id: String) -> GraphNode? { nodes.first { $0.id == id } }

    /// Nodes no other node depends on: their results make up the task's result.
    public var sinks: [String] {
        let parents = Set(nodes.flatMap(\.dependsOn))
        return nodes.map(\.id).filter { !parents.contains($0) }.sorted()
    }
}

public struct GraphNode: Codable, Hashable, Sendable {
    public var id: String
    /// What this node does; the task description when absent.
    public var prompt: String?
    public var dependsOn: [String]

    public init(id: String, prompt: String? = nil, dependsOn: [String] = []) {
        self.id = id
        self.prompt = prompt
        self.dependsOn = dependsOn
    }

    enum CodingKeys: String, CodingKey {
        case id, prompt
        case dependsOn = "depends_on"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        prompt = try container.decodeIfPresent(String.self, forKey: .prompt)
        dependsOn = try container.decodeIfPresent([String].self, forKey: .dependsOn) ?? []
    }
}

/// The digest of the inputs a node's result is computed from: the task, the node, and its
/// parents' results in id order. Saved with the result, so a checker can recompute it from the
/// stored parents and prove the node ran on exactly those.
public enum InputDigest {
    public static func of(taskDescription: String, node: GraphNode, parentResults: [String: String]) -> String {
        var text = "task:\(taskDescription)\nnode:\(node.id)\nprompt:\(node.prompt ?? "")\n"
        for parent in node.dependsOn.sorted() {
            text += "parent:\(parent)=\(parentResults[parent] ?? "<missing>")\n"
        }
        return FNV64.hex(FNV64.hash(text))
    }
}

/// A round checkpoint's key in the Progress table (`per-round`): `node@round`, holding the
/// winning plan of that round. `@` never appears in a node id, so the keys cannot collide.
public enum RoundCheckpoint {
    public static func key(node: String, round: Int) -> String { "\(node)@\(round)" }

    /// The node and round of a checkpoint key; nil for a node result's key.
    public static func parse(_ key: String) -> (node: String, round: Int)? {
        guard let at = key.firstIndex(of: "@"), let round = Int(key[key.index(after: at)...]), round >= 1 else { return nil }
        return (String(key[..<at]), round)
    }

    /// The newest round checkpoint of `node` among saved progress, below `rounds`.
    public static func latest(node: String, rounds: Int, in progress: [String: String]) -> (round: Int, plan: String)? {
        var best: (round: Int, plan: String)?
        for (key, plan) in progress {
            guard let parsed = parse(key), parsed.node == node, parsed.round < rounds else { continue }
            if parsed.round > best?.round ?? 0 { best = (parsed.round, plan) }
        }
        return best
    }
}
