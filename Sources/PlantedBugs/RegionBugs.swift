// Regional coordinators with a plausible mistake each.
import Core
import Determinism

/// A region whose hand-over claim reuses the task's epoch instead of raising it: the first
/// claim for a proxy is right, but handing a task from an evicted owner to another proxy writes
/// `(g, r)` again, which the store refuses as not newer. The task waits forever for an owner.
public struct EpochReusingHandoverRegion: CoreMachine {
    var inner: RegionalCoordinator

    public init(inner: RegionalCoordinator) { self.inner = inner }

    public mutating func handle<R: RandomSource>(_ input: CoreInput, context: CoreContext, random: inout R) -> [CoreEffect] {
        inner.handle(input, context: context, random: &random).map { effect in
            guard case .send(let to, .storeRequest(let id, .claim(let task, let epoch, let region, let owner?))) = effect, epoch.regional >= 2 else {
                return effect
            }
            let reused = Epoch(global: epoch.global, regional: epoch.regional - 1)
            return .send(to: to, .storeRequest(requestID: id, .claim(task, epoch: reused, region: region, owner: owner)))
        }
    }
}
