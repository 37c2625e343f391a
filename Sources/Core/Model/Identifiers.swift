@_exported import Determinism

/// A role's address: its node name (`gateway`, `store`, `region-1`, `proxy-1-2`, `llm-1`,
/// `client-3`). The simulator and the real shell map addresses to their transport.
public typealias Address = String

/// A task's id, as the store assigns it.
public typealias TaskID = Int64
