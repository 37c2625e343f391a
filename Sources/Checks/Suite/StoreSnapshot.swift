import Core

/// What the final audit reads: the store's rows at the end of the run.
public struct StoreSnapshot: Sendable {
    public private(set) var tasks: [TaskRecord]
    public var progress: [TaskID: [ProgressRecord]]
    /// Each task's plan, decoded once for all the checkers (nil: it does not parse).
    public private(set) var plans: [TaskID: TaskPlan] = [:]

    public init(tasks: [TaskRecord], progress: [TaskID: [ProgressRecord]]) {
        self.tasks = tasks
        self.progress = progress
        for task in tasks { plans[task.taskID] = task.plan }
    }

    public init(store: any TaskStoreBackend) throws {
        let tasks = try store.allTasks()
        let rows = try store.allProgress()
        // An entry for every task (empty when it saved nothing), and only for tasks.
        let progress = Dictionary(uniqueKeysWithValues: tasks.map { ($0.taskID, rows[$0.taskID] ?? []) })
        self.init(tasks: tasks, progress: progress)
    }
}
