import Core

/// The creates the gateway has admitted and not yet seen answered, by key, as the admission
/// checkers follow them: each is counted by the incarnation that admitted it, and a restarted
/// gateway (a newer incarnation seen) no longer counts its earlier life's, which become
/// orphans: creates that may still make a task nobody counts until the next sweep.
struct AdmissionsInFlight {
    private(set) var byKey: [String: UInt32] = [:]
    private var newestIncarnation: UInt32 = 0

    var count: Int { byKey.count }

    /// Follows an admission observation; returns the keys it orphaned (empty for any other).
    mutating func observe(_ observation: WorldObservation) -> [String] {
        switch observation {
        case .core(.createAdmitted(let key, let incarnation)):
            let orphaned = seen(incarnation)
            byKey[key] = incarnation
            return orphaned
        case .core(.createEnded(let key, let incarnation, _)):
            let orphaned = seen(incarnation)
            if byKey[key] == incarnation { byKey[key] = nil }
            return orphaned
        default:
            return []
        }
    }

    private mutating func seen(_ incarnation: UInt32) -> [String] {
        guard incarnation > newestIncarnation else { return [] }
        newestIncarnation = incarnation
        let orphaned = byKey.filter { $0.value < incarnation }.keys.sorted()
        byKey = byKey.filter { $0.value >= incarnation }
        return orphaned
    }
}
