import NIOCore
import NIOPosix

/// Where a session's control connection to its server goes, and from where.
struct ServerConnection {
    var address: SocketAddress
    /// The local address to leave from: `source_address`, or the client's own (transparent).
    var local: SocketAddress?
    /// `local` is another host's address: the socket must be allowed to bind it.
    var transparent: Bool
    var timeout: TimeAmount
}

/// Opens the control connection to a server. TCP in the balancer; a unit test hands over a
/// channel of its own, so that a whole session runs without a socket.
protocol ServerConnector {
    /// `initializer` wires the channel before it reads anything.
    func connect(
        _ connection: ServerConnection,
        on eventLoop: any EventLoop,
        initializer: @escaping (Channel) throws -> Void
    ) -> EventLoopFuture<Channel>
}

struct TCPServerConnector: ServerConnector {
    func connect(
        _ connection: ServerConnection,
        on eventLoop: any EventLoop,
        initializer: @escaping (Channel) throws -> Void
    ) -> EventLoopFuture<Channel> {
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connection.timeout)
            .channelOption(.recvAllocator, value: ControlSession.receiveAllocator)
        if connection.transparent, let local = connection.local {
            bootstrap = TransparentSocket.outgoing(bootstrap, from: local).bind(to: local)
        } else if let local = connection.local {
            bootstrap = bootstrap.bind(to: local)
        }
        return bootstrap
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try initializer(channel) }
            }
            .connect(to: connection.address)
    }
}
