import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Server
import Testing

/// Mutual TLS on the role plane: the cluster's CA, one certificate per process, and what a
/// peer must show to be heard.
@Suite("the role plane on mutual TLS", .serialized)
struct RolePlaneTLSTests {
    /// Posts a batch to a role plane over TLS with the given client configuration; the status, or nil if the handshake failed.
    func post(_ url: String, _ body: String, tls: TLSConfiguration, digest: String) async -> Int? {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(3), read: .seconds(5)))
        configuration.tlsConfiguration = tls
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "X-AgentOS-Cluster", value: digest)
        request.body = .bytes(ByteBuffer(string: body))
        let response = try? await client.execute(request, timeout: .seconds(5))
        try? await client.shutdown()
        return response.map { Int($0.status.code) }
    }

    func clientTLS(certificate: String?, key: String?, ca: String) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
        tls.certificateVerification = .noHostnameVerification
        if let certificate, let key {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return tls
    }

    @Test("a split cluster on mutual TLS completes its tasks; no certificate, another CA's, another role's, or another cluster file is refused")
    func splitClusterOnMutualTLS() async throws {
        let (portA, planeA, portB, planeB) = (freeTestPort(), freeTestPort(), freeTestPort(), freeTestPort())
        let dir = CLI.temporaryPath("tls")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = { (name: String) in (dir as NSString).appendingPathComponent(name) }
        let ra = "http://127.0.0.1:\(planeA)", rb = "http://127.0.0.1:\(planeB)"
        let urls = ["store": ra, "gateway": ra, "region-1": ra, "fake-llm": "http://127.0.0.1:\(portA)", "proxy-1-1": rb, "proxy-1-2": rb]
        let cluster: [String: Any] = ["regions": 1, "proxiesPerRegion": 2, "urls": urls, "scheduling": "fifo", "balancing": "least_loaded", "voting": "naive"]
        try JSONSerialization.data(withJSONObject: cluster).write(to: URL(fileURLWithPath: path("cluster.json")))

        let made = try CLI.run(["certs", "init", path("certs"), "--cluster", path("cluster.json"), "--days", "30"])
        #expect(made.status == 0 && made.stdout.contains("2 process certificate(s)"), "\(made.stdout)\(made.stderr)")
        let again = try CLI.run(["certs", "init", path("certs"), "--cluster", path("cluster.json")])
        #expect(again.status != 0 && again.stderr.contains("exists"), "a second init must not replace the CA: \(again.stderr)")
        #expect(try CLI.run(["certs", "init", path("other"), "--cluster", path("cluster.json")]).status == 0)
        let wrongRoles = try CLI.run(["serve", "--cluster", path("cluster.json"), "--tls-dir", path("certs"), "--roles", "proxy-1-1", "--port", "0"])
        #expect(wrongRoles.status != 0 && wrongRoles.stderr.contains("proxy-1-1.pem' is missing"), "a process's roles pick its files: \(wrongRoles.stderr)")

        let common = ["--cluster", path("cluster.json"), "--tls-dir", path("certs"), "--speedup", "20"]
        let processA = try startServe(common + ["--port", String(portA), "--data-dir", path("a"), "--roles", "store,gateway,region-1,fake-llm"])
        let processB = try startServe(common + ["--port", String(portB), "--data-dir", path("b"), "--roles", "proxy-1-1,proxy-1-2"])
        defer { _ = (processA, processB) }
        let query = #"{"task_name":"code_generation","task_description":"write add(a, b)","n_rounds":1,"n_samples":2,"n_voters":2}"#
        var tasks: [Int] = []
        for _ in 0..<3 {
            let (status, body) = try await http("POST", "http://127.0.0.1:\(portA)/query", query)
            #expect(status == 200)
            if let task = body["task_id"] as? Int { tasks.append(task) }
        }
        for task in tasks {
            let final = try await waitFinal("http://127.0.0.1:\(portA)", task: task, seconds: 60)
            #expect(final["status"] as? String == "completed", "task \(task) over mutual TLS: \(final)")
        }

        let layout = try JSONDecoder().decode(ClusterLayout.self, from: Data(contentsOf: URL(fileURLWithPath: path("cluster.json"))))
        let plane = "https://127.0.0.1:\(planeA)/v1/core/messages"
        let asGateway = { (from: String) in #"[{"to":"gateway","from":"\#(from)","message":{"regionHeartbeat":{"region":"region-1","load":0}}}]"# }
        let proxyCert = try clientTLS(certificate: path("certs/proxy-1-1+proxy-1-2.pem"), key: path("certs/proxy-1-1+proxy-1-2-key.pem"), ca: path("certs/ca.pem"))
        #expect(await post(plane, asGateway("proxy-1-1"), tls: proxyCert, digest: layout.digest) == 202, "a cluster certificate for the sending role is heard")
        #expect(await post(plane, asGateway("region-1"), tls: proxyCert, digest: layout.digest) == 403, "a proxy's certificate cannot speak for region-1")
        #expect(await post(plane, asGateway("proxy-1-1"), tls: proxyCert, digest: "0123456789abcdef") == 409, "another cluster description is refused")
        let noCert = try clientTLS(certificate: nil, key: nil, ca: path("certs/ca.pem"))
        #expect(await post(plane, asGateway("proxy-1-1"), tls: noCert, digest: layout.digest) == nil, "no certificate: no handshake")
        let otherCA = try clientTLS(certificate: path("other/proxy-1-1+proxy-1-2.pem"), key: path("other/proxy-1-1+proxy-1-2-key.pem"), ca: path("certs/ca.pem"))
        #expect(await post(plane, asGateway("proxy-1-1"), tls: otherCA, digest: layout.digest) == nil, "another CA's certificate: no handshake")
        let plain = try? await http("POST", "http://127.0.0.1:\(planeA)/v1/core/messages", asGateway("proxy-1-1"))
        #expect(plain == nil || plain?.0 != 202, "plain HTTP is not heard on a TLS role plane")
    }
}
