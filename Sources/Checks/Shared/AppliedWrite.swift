import Core

/// The store's applied write verdicts, unpacked.
struct AppliedWrite {
    var task: TaskID
    var kind: WriteKind
    var epoch: Epoch
    var before: Epoch?
    var repeated: Bool

    init?(_ event: ObservedEvent) {
        guard case .core(.write(let task, let kind, let epoch, let before, .applied(_, let repeated))) = event.observation else { return nil }
        (self.task, self.kind, self.epoch, self.before, self.repeated) = (task, kind, epoch, before, repeated)
    }

    /// Claims and gateway aborts change the task's epoch.
    var isClaim: Bool {
        switch kind {
        case .claim, .abort: true
        case .progress, .finish: false
        }
    }
}
