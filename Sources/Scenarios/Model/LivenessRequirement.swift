import Core
import Sim

extension Scenario {
    /// The liveness budget this scenario's own tasks need on the correct code: the time the
    /// cluster takes to notice and repair what the faults left (an eviction, a region's
    /// failover, the sweeps, the store's retries, a client's poll), plus the time the
    /// unfinished work takes once repaired (the longest task's chain of calls, or all calls
    /// at the cluster's concurrency, whichever is longer), each with a margin for the LLM's
    /// tail. `phases.livenessMin` states it instead when set.
    ///
    /// The shrinker never cuts the liveness budget below it: a budget no task can meet fails
    /// liveness on any code, and once the budget fails the run by itself every fault the bug
    /// needed looks unnecessary. A shrunk trace that also fails on the correct code is no
    /// regression test.
    public var livenessRequired: Interval {
        if let stated = phases.livenessMin { return stated }
        let timings = cluster.timings
        let gateway = GatewaySettings(regions: [.region(1)])
        let seconds = { (interval: Interval) in interval.seconds }
        let recovery = seconds(timings.proxyEviction + timings.regionSweep + gateway.regionTimeout + gateway.sweepInterval)
            + seconds(gateway.storeTimeout) * Int64(gateway.storeAttemptsMax) + workload.pollInterval.nanoseconds / 1_000_000_000 + 10
        // A node's rounds are sequential, and each round is a generation then a voting call.
        let chains = workload.tasks.map { template -> Int64 in
            Int64((template.graph?.depth ?? 1) * template.rounds * 2)
        }
        let chain = 2 * (chains.max() ?? 2) * secondsPerCall
        let calls = workloadCalls
        let concurrency = Int64(max(1, survivingProxies) * cluster.workerConcurrency)
        let throughput = 2 * calls * secondsPerCall / max(1, concurrency)
        var limited: Int64 = 0
        if let callsPerMinute = callsPerMinuteLimit { limited = 2 * 60 * calls / max(1, callsPerMinute * Int64(survivingEndpoints)) }
        // An outage that runs past the heal delays everything by its remaining length.
        let outageEnd = llm.outages.map(\.end).max() ?? 0
        let outage = max(0, outageEnd - phases.safety.nanoseconds) / 1_000_000_000
        return .seconds(recovery + outage + max(chain, throughput, limited))
    }
}

/// What a scenario's workload asks of its cluster, for the budgets derived from it.
extension Scenario {
    /// Seconds per LLM call of the endpoints' profile, including its tail, slow answers and timeouts.
    var secondsPerCall: Int64 {
        switch llm.profile {
        case "perfect": 1
        case "hosted": 4
        case "flaky": 20
        default: 8
        }
    }

    /// The LLM calls of the whole workload, every request counted as the largest template.
    var workloadCalls: Int64 {
        let callsPerRequest = workload.tasks.map { ($0.graph?.nodes.count ?? 1) * $0.rounds * ($0.samples + $0.voters) }
        return Int64(workload.clients * workload.requestsPerClient * (callsPerRequest.max() ?? 1))
    }

    /// Proxies and LLM endpoints not lost for good (endpoints: at least one): machines killed
    /// for good serve nothing.
    var survivingProxies: Int { cluster.proxyNames.filter { !faults.fixed.killedNodes.contains($0.name) }.count }
    var survivingEndpoints: Int { max(1, cluster.llmNames.filter { !faults.fixed.killedNodes.contains($0.name) }.count) }

    /// The calls per minute one endpoint's per-minute limits allow (nil: none). Each call
    /// books its prompt plus max_tokens, about 2,500 tokens, against a tokens-per-minute window.
    var callsPerMinuteLimit: Int64? {
        let capacity = llm.capacity
        var callsPerMinute = Int64.max
        if let rpm = capacity.requestsPerMinute { callsPerMinute = min(callsPerMinute, Int64(rpm)) }
        if let tpm = capacity.tokensPerMinute { callsPerMinute = min(callsPerMinute, Int64(tpm) / 2_500) }
        return callsPerMinute < Int64.max ? callsPerMinute : nil
    }
}

extension TaskGraph {
    /// The number of nodes on the longest chain of dependencies.
    public var depth: Int {
        var depths: [String: Int] = [:]
        func depth(of id: String) -> Int {
            if let known = depths[id] { return known }
            let parents = nodes.first { $0.id == id }?.dependsOn ?? []
            let value = 1 + (parents.map { depth(of: $0) }.max() ?? 0)
            depths[id] = value
            return value
        }
        return nodes.map { depth(of: $0.id) }.max() ?? 1
    }
}
