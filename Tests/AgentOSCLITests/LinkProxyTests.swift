import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import ClusterTest

/// The link proxy that carries cluster-test's delays: a TCP relay on loopback in front of an
/// echo server.
@Suite("cluster-test's link proxy")
struct LinkProxyTests {
    /// Echoes every byte back.
    final class Echo: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }
    }

    func echoServer() throws -> Channel {
        try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Echo())
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    /// A blocking client socket connected to `port` on loopback.
    func connect(_ port: Int) throws -> Int32 {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(status == 0, "connect: errno \(errno)")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return socket
    }

    /// Reads exactly `count` bytes.
    func read(_ socket: Int32, _ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < count {
            let got = Foundation.read(socket, &buffer, min(buffer.count, count - bytes.count))
            if got <= 0 { break }
            bytes += buffer[0..<got]
        }
        return bytes
    }

    /// Runs `body` with a client socket connected, through a link proxy applying `delays`, to an
    /// echo server; closes all three afterwards.
    func throughRelay(_ delays: LinkDelays, _ body: (Int32) throws -> Void) throws {
        let echo = try echoServer()
        let relay = try LinkProxy.listen(
            on: SocketAddress(ipAddress: "127.0.0.1", port: 0), relayingTo: echo.localAddress!,
            from: SocketAddress(ipAddress: "127.0.0.1", port: 0),
            link: 0, delays: delays
        ).wait()
        defer {
            try? relay.close().wait()
            try? echo.close().wait()
        }
        let socket = try connect(relay.localAddress!.port!)
        defer { close(socket) }
        try body(socket)
    }

    @Test(
        "with no delay in force the proxy relays at once; with 150 ms per direction a round trip takes at least 300 ms"
    )
    func delayHoldsEachDirection() throws {
        let link = Link("a", "b")
        let delays = LinkDelays(links: [link], seed: 1)
        try throughRelay(delays) { socket in
            func roundTrip(_ text: String) -> (echoed: String, seconds: Double) {
                let start = ContinuousClock.now
                _ = text.withCString { Foundation.write(socket, $0, strlen($0)) }
                let echoed = String(decoding: read(socket, text.utf8.count), as: UTF8.self)
                let elapsed = ContinuousClock.now - start
                return (
                    echoed, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                )
            }
            let fast = roundTrip("ping")
            #expect(fast.echoed == "ping")
            #expect(fast.seconds < 0.1, "no delay in force: \(fast.seconds) s")
            delays.set([link: LinkDelay(baseMillis: 150, jitterMillis: 0)], links: [link])
            let slow = roundTrip("pong")
            #expect(slow.echoed == "pong")
            #expect(slow.seconds >= 0.3, "150 ms each way: \(slow.seconds) s")
            #expect(delays.delayedChunks >= 2)
        }
    }

    @Test("under heavy jitter the bytes of a connection still arrive complete and in order")
    func jitterKeepsOrder() throws {
        let link = Link("b", "llm")
        let delays = LinkDelays(links: [link], seed: 7)
        delays.set([link: LinkDelay(baseMillis: 20, jitterMillis: 20)], links: [link])
        try throughRelay(delays) { socket in
            let message = (0..<200).map { "chunk \($0);" }
            for part in message {
                _ = part.withCString { Foundation.write(socket, $0, strlen($0)) }
                usleep(500)
            }
            let total = message.joined().utf8.count
            #expect(String(decoding: read(socket, total), as: UTF8.self) == message.joined())
        }
    }
}
