/// A client's query, with the seed's `/query` fields plus an optional task graph.
public struct Query: Codable, Hashable, Sendable {
    public var taskName: String
    public var taskDescription: String
    public var nRounds: Int
    public var nSamples: Int
    public var nVoters: Int
    public var graph: TaskGraph?
    /// The client's idempotency key (`request_id`, or the `Idempotency-Key` header): every
    /// submission with the same key maps to one task. Without one, the gateway keys the task by
    /// the sender and its request id, which covers the sender's own resends only.
    public var requestKey: String?

    public init(
        taskName: String, taskDescription: String, nRounds: Int, nSamples: Int, nVoters: Int, graph: TaskGraph? = nil, requestKey: String? = nil
    ) {
        self.taskName = taskName
        self.taskDescription = taskDescription
        self.nRounds = nRounds
        self.nSamples = nSamples
        self.nVoters = nVoters
        self.graph = graph
        self.requestKey = requestKey
    }

    /// The longest idempotency key accepted.
    public static let requestKeyBytesMax = 128

    enum CodingKeys: String, CodingKey {
        case taskName = "task_name"
        case taskDescription = "task_description"
        case nRounds = "n_rounds"
        case nSamples = "n_samples"
        case nVoters = "n_voters"
        case graph
        case requestKey = "request_id"
    }
}

/// What the gateway accepts. Anything beyond is refused before anything is stored.
public struct QueryLimits: Codable, Hashable, Sendable {
    public var taskNames: [String]
    public var descriptionBytesMax: Int
    public var roundsMax: Int
    public var samplesMax: Int
    public var votersMax: Int
    public var graphNodesMax: Int

    public init(
        taskNames: [String] = QueryLimits.referenceTaskNames, descriptionBytesMax: Int = 16 * 1024, roundsMax: Int = 10,
        samplesMax: Int = 16, votersMax: Int = 16, graphNodesMax: Int = 64
    ) {
        self.taskNames = taskNames
        self.descriptionBytesMax = descriptionBytesMax
        self.roundsMax = roundsMax
        self.samplesMax = samplesMax
        self.votersMax = votersMax
        self.graphNodesMax = graphNodesMax
    }

    /// The reference system's task names.
    public static let referenceTaskNames = ["code_generation", "end_with_random_sentence", "start_with_random_sentence"]
}

/// A validated query: its graph (one node named `main` when the query has none).
public struct TaskPlan: Codable, Hashable, Sendable {
    public var query: Query
    public var graph: TaskGraph

    /// Checks a query against the limits; the error says what is wrong, in one line.
    public static func validate(_ query: Query, limits: QueryLimits) -> Result<TaskPlan, QueryRejection> {
        guard limits.taskNames.contains(query.taskName) else {
            return .failure(QueryRejection("unknown task_name '\(query.taskName)' (known: \(limits.taskNames.joined(separator: ", ")))"))
        }
        if let key = query.requestKey {
            guard !key.isEmpty, key.utf8.count <= Query.requestKeyBytesMax, key.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value < 0x7F }) else {
                return .failure(QueryRejection("request_id must be 1 to \(Query.requestKeyBytesMax) printable ASCII characters without spaces"))
            }
        }
        guard !query.taskDescription.isEmpty else { return .failure(QueryRejection("task_description must not be empty")) }
        guard query.taskDescription.utf8.count <= limits.descriptionBytesMax else {
            return .failure(
                QueryRejection("task_description is \(query.taskDescription.utf8.count) bytes; the limit is \(limits.descriptionBytesMax)"))
        }
        for (name, value, max) in [
            ("n_rounds", query.nRounds, limits.roundsMax), ("n_samples", query.nSamples, limits.samplesMax),
            ("n_voters", query.nVoters, limits.votersMax),
        ] where value < 1 || value > max {
            return .failure(QueryRejection("\(name) must be between 1 and \(max), got \(value)"))
        }
        let graph = query.graph ?? TaskGraph(nodes: [GraphNode(id: "main", prompt: nil, dependsOn: [])])
        if let problem = graph.problem(nodesMax: limits.graphNodesMax, promptBytesMax: limits.descriptionBytesMax) {
            return .failure(QueryRejection("graph: \(problem)"))
        }
        return .success(TaskPlan(query: query, graph: graph))
    }
}

public struct QueryRejection: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
