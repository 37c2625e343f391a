import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Limits every listener applies, so slow or abusive clients cannot hold the server.
public struct ListenerLimits: Sendable {
    /// A connection that sends nothing (or never finishes a request's head) is closed after this.
    public var headerTimeout: Duration
    /// A request whose body is not complete this long after its head is cut.
    public var bodyTimeout: Duration
    /// Connections open at once; past it the listener stops accepting until some close.
    public var connectionsMax: Int
    /// Connections open at once from one peer address (nil: no limit of its own); past it a new
    /// connection from that address is closed at once. On the role plane this keeps one
    /// misbehaving host from taking every connection slot.
    public var connectionsPerPeerMax: Int?

    public init(headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(30), connectionsMax: Int = 2048, connectionsPerPeerMax: Int? = nil) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.connectionsMax = connectionsMax
        self.connectionsPerPeerMax = connectionsPerPeerMax
    }

    public func server() -> HTTPServerBuilder {
        let body = TimeAmount.nanoseconds(Int64(bodyTimeout.components.seconds) * 1_000_000_000 + bodyTimeout.components.attoseconds / 1_000_000_000)
        let idle = TimeAmount.nanoseconds(Int64(headerTimeout.components.seconds) * 1_000_000_000 + headerTimeout.components.attoseconds / 1_000_000_000)
        let peers = connectionsPerPeerMax.map(PeerConnections.init)
        return .http1(
            configuration: .init(
                additionalChannelHandlers: [RequestDeadlineHandler(limit: body)] + (peers.map { [PeerConnectionLimitHandler(peers: $0)] } ?? []),
                idleTimeout: idle))
    }

    public func configuration(host: String, port: Int, serverName: String = "agentos") -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(host, port: port), serverName: serverName, availableConnectionsDelegate: MaximumAvailableConnections(connectionsMax))
    }
}

/// The connections open from each peer address, shared by a listener's connections.
final class PeerConnections: @unchecked Sendable {
    let limit: Int
    private let lock = NSLock()
    private var open: [String: Int] = [:]

    init(limit: Int) { self.limit = limit }

    /// Counts a new connection from `peer`; false (and not counted) when the peer is at its limit.
    func admit(_ peer: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard open[peer, default: 0] < limit else { return false }
        open[peer, default: 0] += 1
        return true
    }

    func release(_ peer: String) {
        lock.lock()
        defer { lock.unlock() }
        open[peer, default: 1] -= 1
        if open[peer] == 0 { open[peer] = nil }
    }
}

/// Closes a connection from a peer address that already holds `PeerConnections.limit` of them.
final class PeerConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let peers: PeerConnections
    private var admitted: String?

    init(peers: PeerConnections) { self.peers = peers }

    func handlerAdded(context: ChannelHandlerContext) {
        // The connection is active by the time the HTTP pipeline is built.
        let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        if peers.admit(peer) {
            admitted = peer
        } else {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if let admitted { peers.release(admitted) }
        admitted = nil
    }
}

/// Closes a connection whose request body does not arrive in time (a slow-loris body); the
/// listener's idle timeout covers connections that never complete a request head.
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let limit: TimeAmount
    private var deadline: Scheduled<Void>?

    init(limit: TimeAmount) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: limit) { bound.value.close(promise: nil) }
        case .end:
            deadline?.cancel()
            deadline = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }
}

/// Every error answer is a JSON body, unknown routes and wrong methods included: OpenAI's
/// `{"error": {...}}` under `/v1/`, the seed's `{"success": false, "err": ...}` elsewhere.
public struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            var status = error.status
            var headers: HTTPFields = [:]
            if status == .notFound, let methods = ServerRoute.allowedMethods(request.uri.path), !methods.contains(request.method.rawValue) {
                status = .methodNotAllowed
                headers[.allow] = methods.joined(separator: ", ")
            }
            let message: String
            switch status {
            case .notFound: message = "no route \(request.method) \(request.uri.path)"
            case .methodNotAllowed: message = "method \(request.method) is not allowed on \(request.uri.path)"
            case .contentTooLarge: message = "the body is too large"
            default: message = error.body ?? error.status.reasonPhrase
            }
            if request.uri.path.hasPrefix("/v1/") {
                let type = status.code < 500 ? "invalid_request_error" : "server_error"
                return jsonResponse(status, ErrorBody(error: .init(message: message, type: type, code: status.code == 404 ? "not_found" : nil)), headers: headers)
            }
            return jsonResponse(status, APIError(success: false, err: message), headers: headers)
        }
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            let message: String
            let type: String
            let code: String?
        }
        let error: Detail
    }
}
