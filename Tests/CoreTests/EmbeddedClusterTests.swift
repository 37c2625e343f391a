import Core
import CoreTesting
import Testing

/// The shipped harness works through its public API alone, as a user's tests would use it.
@Suite("CoreTesting, the shipped harness")
struct EmbeddedClusterTests {
    @Test("the README's example: a failed first call and a crashed proxy, and the task still completes")
    func readmeExample() throws {
        // The README's example, verbatim (ReadmeExampleTests checks that it still is):
        let cluster = try EmbeddedCluster.standard(regions: 1, proxies: 2)
        cluster.llm.script = { n, _ in n == 0 ? .error(503) : nil }   // the first call fails
        let request = cluster.submit(query(2, 3, 3))
        cluster.run(for: .seconds(60))
        let task = cluster.taskID(for: request)!
        cluster.crash(.proxy(region: 1, index: 1))                     // and the task still completes
        cluster.run(for: .seconds(120))
        print(cluster.status(task), cluster.writes().count, "store writes")
        // The example ends here.
        guard case .completed = cluster.status(task) else {
            Issue.record("task \(task) is \(cluster.status(task))")
            return
        }
        #expect(cluster.writes().count >= 3, "claims, saves and the finish went through the store")
        #expect(cluster.llm.calls.count > 2 * (3 + 3), "the failed call was sent again")
    }
}
