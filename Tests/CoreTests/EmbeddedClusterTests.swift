import Core
import CoreTesting
import Testing

/// The shipped harness works through its public API alone, as a user's tests would use it.
@Suite("CoreTesting, the shipped harness")
struct EmbeddedClusterTests {
    @Test("the README's example: a failed first call and a crashed proxy, and the task still completes")
    func readmeExample() throws {
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 2)
        cluster.llm.script = { n, _ in n == 0 ? .error(503) : nil }
        let request = cluster.submit(query(2, 3, 3))
        cluster.run(for: 60 * Time.second)
        let task = try #require(cluster.taskID(for: request))
        cluster.crash("proxy-1-1")
        cluster.run(for: 120 * Time.second)
        guard case .completed = cluster.status(task) else {
            Issue.record("task \(task) is \(cluster.status(task))")
            return
        }
        #expect(cluster.writes().count >= 3, "claims, saves and the finish went through the store")
        #expect(cluster.llm.calls.count > 2 * (3 + 3), "the failed call was sent again")
    }
}
