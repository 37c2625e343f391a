import Core

/// 11. Progress correctness judged on what was sent: every generation prompt the LLM received
/// for a graph node embeds exactly that node's parents, each with its stored result. The
/// parents are read from the prompt's text at the endpoint, not from what the owner declared.
public struct PromptChecker: InvariantChecker {
    /// Judges observations and the final audit only: the message traffic is not sent to it.
    public var observesMessages: Bool { false }
    public let invariant = Invariant.promptCorrectness
    public private(set) var violations: [Violation] = []
    /// Generation prompts by task and node: what each embedded, with its event.
    var prompts: [TaskID: [String: [([ParentResult], ObservedEvent)]]] = [:]
    var count = 0
    /// Whether embedded parent results must equal the stored ones (see
    /// `CheckContext.parentsSavedBeforeUse`); the structure is judged either way.
    let judgesDigests: Bool

    public init(judgesDigests: Bool = true) { self.judgesDigests = judgesDigests }

    public mutating func observe(_ event: ObservedEvent) {
        guard case .llm(let call) = event.observation, call.kind == .generation, !call.node.isEmpty else { return }
        count += 1
        // One record per distinct embedding is enough evidence; most prompts repeat.
        if prompts[call.task]?[call.node]?.contains(where: { $0.0 == call.parents }) == true { return }
        prompts[call.task, default: [:]][call.node, default: []].append((call.parents, event))
    }

    public mutating func audit(_ snapshot: StoreSnapshot, end: Instant) {
        let tasks = Dictionary(snapshot.tasks.map { ($0.taskID, $0) }, uniquingKeysWith: { first, _ in first })
        for task in prompts.keys.sorted() {
            guard tasks[task] != nil, let plan = snapshot.plans[task] else {
                violations.append(Violation(
                    invariant: invariant, task: task, node: nil, time: end, detail: "the LLM received prompts for a task the store does not hold", events: []))
                continue
            }
            let stored = Dictionary((snapshot.progress[task] ?? []).map { ($0.nodeID, FNV64.hex(FNV64.hash($0.result))) }, uniquingKeysWith: { a, _ in a })
            for node in prompts[task]!.keys.sorted() {
                guard let graphNode = plan.graph.node(node) else {
                    violations.append(Violation(
                        invariant: invariant, task: task, node: node, time: end, detail: "the LLM received prompts for a node the task's graph does not have",
                        events: prompts[task]![node]!.map(\.1.summary)))
                    continue
                }
                let parents = graphNode.dependsOn.sorted()
                for (embedded, event) in prompts[task]![node]! {
                    if let problem = Self.compare(embedded: embedded, parents: parents, stored: judgesDigests ? stored : nil) {
                        violations.append(Violation(invariant: invariant, task: task, node: node, time: event.time, detail: problem, events: [event.summary]))
                    }
                }
            }
        }
    }

    /// What is wrong with a prompt's embedded parents, or nil when they are exactly right.
    static func compare(embedded: [ParentResult], parents: [String], stored: [String: String]?) -> String? {
        let names = embedded.map(\.node)
        let missing = parents.filter { !names.contains($0) }
        if !missing.isEmpty { return "a prompt left out the result of parent(s) \(missing.joined(separator: ", "))" }
        let extra = names.filter { !parents.contains($0) }
        if !extra.isEmpty { return "a prompt embeds the result of \(extra.joined(separator: ", ")), which is not a parent" }
        if Set(names).count != names.count { return "a prompt embeds a parent's result twice" }
        guard let stored else { return nil }
        for parent in embedded {
            guard let digest = stored[parent.node] else { return "a prompt embeds parent '\(parent.node)', which has no saved result" }
            if digest != parent.resultDigest {
                return "a prompt embeds parent '\(parent.node)' as \(parent.resultDigest), but its saved result is \(digest)"
            }
        }
        return nil
    }

    public var evidence: String { "\(count) generation prompt(s) over \(prompts.values.map(\.count).reduce(0, +)) node(s)" }
}

extension PromptChecker: RegisteredChecker {
    public static let name = "prompt correctness"
    public static let needsLiveness = false

    public init(context: CheckContext) { self.init(judgesDigests: context.parentsSavedBeforeUse) }
}
