import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Server

/// Real-shell bugs `agentos cluster-test` must catch (hidden `serve --planted-bug`). They live
/// in the harness, not in the server: each is a middleware `serve` puts in front of the client
/// API only when asked to, so the shipped server holds no test-only switch.
public enum PlantedBug: String, Sendable, CaseIterable {
    /// The client API drops the client's idempotency key (`request_id`/`Idempotency-Key`), so a
    /// retried query creates a second task. The simulator has no HTTP layer, so it cannot see it.
    case ignoreRequestID = "ignore-request-id"

    /// The middleware that plants the bug in a serve process's public listener.
    public var middleware: any MiddlewareProtocol<Request, Response, BasicRequestContext> {
        switch self {
        case .ignoreRequestID: DropIdempotencyKey()
        }
    }
}

/// Strips the idempotency key from every `POST /query` before the gateway's API reads it.
struct DropIdempotencyKey: RouterMiddleware {
    typealias Context = BasicRequestContext
    static let bodyLimit = 1 << 20

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, request.uri.path == ServerRoute.query.path else { return try await next(request, context) }
        var request = request
        var body = try await request.collectBody(upTo: Self.bodyLimit)
        if var object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] {
            object["request_id"] = nil
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
        }  // otherwise not a JSON object: the API's own 400 answers it
        var head = request.head
        head.headerFields[HTTPField.Name("Idempotency-Key")!] = nil
        return try await next(Request(head: head, body: RequestBody(buffer: body)), context)
    }
}
