import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Sim

/// The delay each link's proxy applies now, and the seeded jitter it draws from.
final class LinkDelays: Sendable {
    private struct State {
        var delays: [LinkDelay?]
        var random: SimRandom
        var delayed = 0
    }
    private let state: NIOLockedValueBox<State>

    init(links: [Link], seed: UInt64) {
        state = NIOLockedValueBox(State(delays: Array(repeating: nil, count: links.count), random: SimRandom(seed: seed, stream: .clusterTestLinks)))
    }

    func set(_ delays: [Link: LinkDelay], links: [Link]) {
        state.withLockedValue { state in state.delays = links.map { delays[$0] } }
    }

    /// Chunks held since the start.
    var delayedChunks: Int { state.withLockedValue(\.delayed) }

    /// How long the next chunk on link `index` waits, in nanoseconds (0: no delay in force).
    func sample(link index: Int) -> Int64 {
        state.withLockedValue { state in
            guard let delay = state.delays[index] else { return 0 }
            state.delayed += 1
            let jitter = delay.jitterMillis > 0 ? Int64(state.random.below(UInt64(2 * delay.jitterMillis + 1))) - Int64(delay.jitterMillis) : 0
            return max(0, Int64(delay.baseMillis) + jitter) * 1_000_000
        }
    }
}

/// A TCP relay for one link, in the manner of toxiproxy: each accepted connection gets a
/// connection of its own to the destination, and the bytes of each direction are passed on
/// after the link's current delay, in order.
enum LinkProxy {
    static func listen(on address: SocketAddress, relayingTo upstream: SocketAddress, from source: SocketAddress, link: Int, delays: LinkDelays)
        -> EventLoopFuture<Channel>
    {
        ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Nothing is read from the client before the destination's side is connected.
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { inbound in
                let loop = inbound.eventLoop
                return ClientBootstrap(group: loop)
                    .bind(to: source)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connectTimeout(.seconds(2))
                    .connect(to: upstream)
                    .flatMap { outbound in
                        do {
                            try inbound.pipeline.syncOperations.addHandler(DelayedRelay(link: link, delays: delays, peer: outbound))
                            try outbound.pipeline.syncOperations.addHandler(DelayedRelay(link: link, delays: delays, peer: inbound))
                        } catch {
                            outbound.close(promise: nil)
                            return loop.makeFailedFuture(error)
                        }
                        return inbound.setOption(.autoRead, value: true)
                    }
            }
            .bind(to: address)
    }
}

/// Passes what one side of a relayed connection reads to the other side, each chunk after the
/// link's delay and never before an earlier chunk; closes the other side once everything read
/// before this side closed has been passed on. Both channels live on one event loop.
final class DelayedRelay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let link: Int
    private let delays: LinkDelays
    private let peer: Channel
    /// Chunks waiting for their time, oldest first.
    private var waiting: [(due: NIODeadline, bytes: ByteBuffer)] = []
    private var timer: Scheduled<Void>?
    private var closing = false

    init(link: Int, delays: LinkDelays, peer: Channel) {
        self.link = link
        self.delays = delays
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let wait = delays.sample(link: link)
        if wait == 0, waiting.isEmpty {
            peer.writeAndFlush(bytes, promise: nil)
            return
        }
        let due = max(NIODeadline.now() + .nanoseconds(wait), waiting.last?.due ?? .uptimeNanoseconds(0))
        waiting.append((due, bytes))
        schedule(on: context.eventLoop)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        if waiting.isEmpty { peer.close(promise: nil) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func schedule(on loop: EventLoop) {
        guard timer == nil, let first = waiting.first else { return }
        timer = loop.assumeIsolated().scheduleTask(deadline: first.due) {
            self.timer = nil
            self.passDue(on: loop)
        }
    }

    private func passDue(on loop: EventLoop) {
        let now = NIODeadline.now()
        while let first = waiting.first, first.due <= now {
            waiting.removeFirst()
            peer.writeAndFlush(first.bytes, promise: nil)
        }
        if waiting.isEmpty {
            if closing { peer.close(promise: nil) }
        } else {
            schedule(on: loop)
        }
    }
}
