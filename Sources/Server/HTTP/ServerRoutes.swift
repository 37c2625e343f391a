import HTTPTypes
import Hummingbird

/// Every HTTP route the real shell serves, in one table: the listeners register their handlers
/// by these entries, and the error middleware reads the same table to answer a known path asked
/// with the wrong method by 405 and `Allow` rather than 404, so the two cannot drift apart.
public struct ServerRoute: Sendable {
    /// Hummingbird's pattern: a segment `:name` matches any one segment.
    public let path: String
    public let method: HTTPRequest.Method

    init(_ path: String, _ method: HTTPRequest.Method) {
        self.path = path
        self.method = method
    }

    public static let ready = ServerRoute("/ready", .get)
    public static let metrics = ServerRoute("/metrics", .get)
    public static let query = ServerRoute("/query", .post)
    public static let taskStatus = ServerRoute("/task/status", .get)
    public static let chatCompletions = ServerRoute("/v1/chat/completions", .post)
    public static let models = ServerRoute("/v1/models", .get)
    public static let model = ServerRoute("/v1/models/:model", .get)
    public static let coreMessages = ServerRoute("/v1/core/messages", .post)

    public static let all = [ready, metrics, query, taskStatus, chatCompletions, models, model, coreMessages]

    /// Whether a request path is this route's (parameters match any one segment).
    func matches(_ requestPath: String) -> Bool {
        let pattern = path.split(separator: "/", omittingEmptySubsequences: false)
        let asked = requestPath.split(separator: "/", omittingEmptySubsequences: false)
        guard pattern.count == asked.count else { return false }
        return zip(pattern, asked).allSatisfy { expected, given in expected.hasPrefix(":") ? !given.isEmpty : expected == given }
    }

    /// The methods the table allows on a path; nil for a path it does not know.
    static func allowedMethods(_ requestPath: String) -> [String]? {
        let methods = all.filter { $0.matches(requestPath) }.map(\.method.rawValue)
        return methods.isEmpty ? nil : methods
    }
}

extension Router {
    /// Registers `handler` for one route of the table.
    @discardableResult
    func on(_ route: ServerRoute, use handler: @Sendable @escaping (Request, Context) async throws -> some ResponseGenerator) -> Self {
        on(RouterPath(route.path), method: route.method, use: handler)
    }
}
