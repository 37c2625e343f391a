import AsyncHTTPClient
import Foundation
import NIOCore

/// One HTTP exchange with a gateway, as the real clients (the cluster test's, `agentos load`)
/// make it: a JSON body in, the status, the JSON answer and the server's Retry-After out.
enum GatewayHTTP {
    /// `timeout` is real seconds; Retry-After is clamped to 1...60 seconds.
    static func call(_ client: HTTPClient, _ method: String, _ url: String, body: Data?, timeout: Int64) async throws -> (
        status: Int, json: [String: Any]?, retryAfter: Int64?
    ) {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await client.execute(request, timeout: .seconds(timeout))
        let data = Data(buffer: try await response.body.collect(upTo: 8 << 20))
        let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int64($0) }.map { min(max($0, 1), 60) }
        return (Int(response.status.code), try? JSONSerialization.jsonObject(with: data) as? [String: Any], retryAfter)
    }
}
