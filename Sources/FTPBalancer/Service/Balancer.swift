import FTPBalancerConfig
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The balancer as a long-running service: one listener per virtual service, a control session
/// per accepted connection. On graceful shutdown it stops accepting; sessions already running
/// are left to their event loops.
package final class Balancer: Service, Sendable {
    private let configuration: BalancerConfiguration
    private let group: any EventLoopGroup
    private let dataPath: any DataPath
    private let logger: Logger
    private let sessionCounter = NIOLockedValueBox(0)

    package init(
        configuration: BalancerConfiguration,
        group: any EventLoopGroup,
        dataPath: any DataPath = NIODataPath(),
        logger: Logger
    ) {
        self.configuration = configuration
        self.group = group
        self.dataPath = dataPath
        self.logger = logger
    }

    package func run() async throws {
        var listeners: [Channel] = []
        do {
            for configuration in self.configuration.virtualServices {
                let service = VirtualService(configuration: configuration)
                listeners.append(try await self.listen(service))
            }
        } catch {
            for listener in listeners { try? await listener.close() }
            throw error
        }
        try? await gracefulShutdown()
        self.logger.notice("shutting down: no new control connections")
        for listener in listeners { try? await listener.close() }
    }

    private func listen(_ service: VirtualService) async throws -> Channel {
        let listen = service.configuration.listen
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            // Urgent data stays in the stream: ftplib sends ABOR's line end as urgent data, and
            // out of band it would be lost and the next command glued to ABOR.
            .childChannelOption(.socket(SocketOptionLevel(SOL_SOCKET), SocketOptionName(SO_OOBINLINE)), value: 1)
            .childChannelInitializer { [dataPath, logger, sessionCounter] channel in
                channel.eventLoop.makeCompletedFuture {
                    let id = sessionCounter.withLockedValue { counter in
                        counter += 1
                        return counter
                    }
                    let session = ControlSession(
                        id: id,
                        service: service,
                        clientChannel: channel,
                        dataPath: dataPath,
                        logger: logger
                    )
                    try session.start()
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(host: listen.host, port: listen.port).get()
        } catch {
            throw BalancerError(.listenFailed, "virtual service '\(service.name)': cannot listen on \(listen): \(error)")
        }
        self.logger.notice(
            "virtual service listening",
            metadata: [
                "ftp.service": "\(service.name)", "ftp.listen": "\(listen)",
                "ftp.advertise": "\(service.configuration.advertisedAddress)",
                "ftp.passive_ports": "\(service.configuration.passivePorts.lowerBound)-\(service.configuration.passivePorts.upperBound)",
                "ftp.servers": "\(service.configuration.servers.map(\.address.description).joined(separator: ","))",
            ]
        )
        return channel
    }
}
