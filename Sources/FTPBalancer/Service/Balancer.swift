import FTPBalancerConfig
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The balancer as a long-running service: one listener per virtual service, a control session
/// per accepted connection, health checks for every pool. `reload(to:)` applies a new
/// configuration to new sessions; graceful shutdown lets running transfers finish.
package final class Balancer: Service, Sendable {
    /// A listening socket and the virtual service it serves; keyed by its endpoint, so a service
    /// renamed or changed in place keeps its socket.
    struct Listener {
        var slot: VirtualServiceSlot
        var channel: Channel
    }

    struct State {
        var configuration: BalancerConfiguration
        var listeners: [Endpoint: Listener] = [:]
    }

    let group: any EventLoopGroup
    let dataPath: any DataPath
    let heartbeat = EventLoopHeartbeat()
    let rangeWatches: PassiveRangeWatches
    let logger: Logger
    let sessions = SessionTable()
    /// Set by a second SIGTERM/SIGINT: the shutdown stops waiting for transfers.
    let graceEnded = NIOLockedValueBox(false)
    private let sessionCounter = NIOLockedValueBox(0)
    /// The listening sockets, to hand to a successor on an upgrade; shared with the admin API.
    package let listeningSockets: ListeningSockets
    /// Set once an upgrade has handed the listeners over: the drain waits for sessions to end.
    let upgradeDrain = NIOLockedValueBox(UpgradeDrain.none)
    /// Called once the listeners of the first configuration are open.
    private let onListening: @Sendable () -> Void
    let state: NIOLockedValueBox<State>
    package let metrics: BalancerMetrics
    /// One line per finished transfer; off until a configuration names a file.
    package let transferLog: TransferLog
    /// New sessions wait for free descriptors rather than take the last ones.
    let descriptors: DescriptorReserve

    package init(
        configuration: BalancerConfiguration,
        group: any EventLoopGroup,
        dataPath: any DataPath = NIODataPath(),
        metrics: BalancerMetrics = BalancerMetrics(),
        listeningSockets: ListeningSockets = ListeningSockets(),
        logger: Logger,
        onListening: @escaping @Sendable () -> Void = {}
    ) {
        self.group = group
        self.listeningSockets = listeningSockets
        self.onListening = onListening
        self.metrics = metrics
        self.dataPath = dataPath
        self.logger = logger
        self.state = NIOLockedValueBox(State(configuration: configuration))
        self.transferLog = TransferLog(logger: logger)
        self.descriptors = DescriptorReserve()
        self.rangeWatches = PassiveRangeWatches(logger: logger)
    }

    package func run() async throws {
        self.heartbeat.start(on: self.group)
        defer {
            self.heartbeat.stop()
            self.rangeWatches.stopAll()
        }
        let configuration = self.state.withLockedValue { $0.configuration }
        try self.transferLog.apply(configuration.transferLog)
        try await self.apply(configuration)
        self.onListening()
        await withDiscardingTaskGroup { tasks in
            tasks.addTask {
                await HealthMonitor(services: { self.services }, group: self.group, metrics: self.metrics).run()
            }
            try? await gracefulShutdown()
            await self.drainSessions()
            tasks.cancelAll()
        }
        // Sessions have ended: their last lines are queued; write them before exiting.
        self.transferLog.close()
        for listener in self.state.withLockedValue({ $0.listeners.values }) {
            try? await listener.channel.close()
        }
    }

    /// The virtual services new sessions go to now, each once however many listeners it has.
    var services: [VirtualService] {
        let all = self.state.withLockedValue { $0.listeners.values.map(\.slot.service) }
        var seen: Set<ObjectIdentifier> = []
        return all.filter { seen.insert(ObjectIdentifier($0)).inserted }
    }

    /// Each virtual service of the running configuration and whether its listener is bound.
    var listenerFacts: [ReadinessFacts.Listener] {
        self.state.withLockedValue { state in
            state.configuration.virtualServices.flatMap { service in
                // A dual-stack service has a listener per address: each must be bound.
                service.listeners.map { listener in
                    ReadinessFacts.Listener(
                        service: service.name,
                        listen: "\(listener.endpoint)",
                        bound: state.listeners[listener.endpoint]?.channel.isActive ?? false
                    )
                }
            }
        }
    }

    // MARK: Reload

    /// Applies a new configuration: new sessions follow it, running sessions keep their server
    /// and data connections. Listeners are added and removed without touching the others. If a
    /// new listener cannot be opened, nothing changes and the error says why. One reload at a
    /// time: the caller (the SIGHUP loop) waits for each before starting the next.
    package func reload(to configuration: BalancerConfiguration) async throws {
        guard !self.listeningSockets.isHandedOver else {
            throw BalancerError(
                .handedOver,
                "this process has handed its listeners to a new ftplb process: reload that one"
            )
        }
        // The new transfer log's file is opened first, so that a path that cannot be written
        // refuses the reload before anything has changed.
        let transferLog = try self.transferLog.prepare(configuration.transferLog)
        do {
            try await self.apply(configuration)
        } catch {
            transferLog.discard()
            throw error
        }
        self.transferLog.install(transferLog)
        self.logger.notice(
            "configuration reloaded",
            metadata: ["ftp.services": "\(configuration.virtualServices.count)"]
        )
    }

    private func apply(_ configuration: BalancerConfiguration) async throws {
        let running = self.state.withLockedValue { $0.listeners }
        let previous = running.values.map(\.slot.service)
        // Pools and passive ports outlive the configuration that made them, so that sessions
        // already running still give back what they hold.
        let services = try configuration.virtualServices.map { service in
            let predecessor = previous.first { $0.name == service.name }
            let pool = predecessor?.pool ?? ServerPool(configuration: service, logger: self.logger)
            let ports =
                previous.first {
                    $0.configuration.listeners.map(\.advertisedAddress) == service.listeners.map(\.advertisedAddress)
                        && $0.passivePorts.range == service.passivePorts
                }?.passivePorts ?? PassivePortAllocator(range: service.passivePorts)
            return VirtualService(
                configuration: service,
                pool: pool,
                passivePorts: ports,
                statistics: predecessor?.statistics ?? ServiceStatistics(service: service.name, metrics: self.metrics),
                tls: try VirtualService.loadTLS(service),
                serverTLS: try VirtualService.loadServerTLS(service, logger: self.logger)
            )
        }

        // Open the new listeners first: if one fails, close those and change nothing. A service
        // with a `listen` list has a listener, and a slot, per address.
        var opened: [Endpoint: Listener] = [:]
        for service in services {
            for endpoint in service.configuration.listeners.map(\.endpoint) where running[endpoint] == nil {
                let slot = VirtualServiceSlot(service)
                do {
                    opened[endpoint] = Listener(slot: slot, channel: try await self.listen(slot, on: endpoint))
                } catch {
                    for listener in opened.values { try? await listener.channel.close() }
                    throw error
                }
            }
        }

        for service in services where previous.contains(where: { $0.pool === service.pool }) {
            service.pool.apply(service.configuration)
        }
        let kept = Set(services.flatMap { $0.configuration.listeners.map(\.endpoint) })
        let closing = self.state.withLockedValue { state in
            state.configuration = configuration
            for service in services {
                for listener in service.configuration.listeners {
                    state.listeners[listener.endpoint]?.slot.service = service
                }
            }
            state.listeners.merge(opened) { old, _ in old }
            let closing = state.listeners.filter { !kept.contains($0.key) }
            for endpoint in closing.keys { state.listeners[endpoint] = nil }
            return closing
        }
        self.rangeWatches.reconcile(services)
        for (endpoint, listener) in closing {
            try? await listener.channel.close()
            self.logger.notice(
                "virtual service no longer listening; its running sessions continue",
                metadata: ["ftp.service": "\(listener.slot.service.name)", "ftp.listen": "\(endpoint)"]
            )
        }
    }

    private func listen(_ slot: VirtualServiceSlot, on listen: Endpoint) async throws -> Channel {
        let service = slot.service
        var bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // `listeningSockets` turns it on: at once, or in a successor once its predecessor
            // has stopped accepting.
            .serverChannelOption(.autoRead, value: false)
        bootstrap =
            bootstrap
            .childChannelOption(.recvAllocator, value: ControlSession.receiveAllocator)
            .childChannelInitializer { [dataPath, logger, sessions, sessionCounter, transferLog, descriptors] channel in
                channel.eventLoop.makeCompletedFuture {
                    let service = slot.service
                    let id = sessionCounter.withLockedValue { counter in
                        counter += 1
                        return counter
                    }
                    let session = ControlSession(
                        id: id,
                        service: service,
                        registry: sessions,
                        clientChannel: channel,
                        dataPath: dataPath,
                        transferLog: transferLog,
                        logger: logger
                    )
                    let refusal =
                        descriptors.admitsSession(running: sessions.count)
                        ? sessions.admit(session, limits: service.configuration.limits) : .descriptorLimit
                    if let refusal {
                        service.statistics.refused(refusal.rawValue)
                        session.logger.notice("session refused", metadata: ["ftp.refusal": "\(refusal.rawValue)"])
                        try channel.pipeline.syncOperations.addHandler(RefusalHandler(reply: refusal.reply))
                        return
                    }
                    service.statistics.sessionAdmitted()
                    try session.start()
                }
            }
        // `[::]` beside an IPv4 listener of its service on its port takes IPv6 clients only, or
        // the two would clash; alone, it takes IPv4 clients too, as IPv4-mapped addresses.
        let ipv4Beside = service.configuration.listeners.contains {
            !$0.endpoint.isIPv6 && $0.endpoint.port == listen.port
        }
        let key = ListeningSockets.controlKey(listen)
        let channel: Channel
        let inherited: Bool
        do {
            let socket = try self.listeningSockets.take(key) {
                try ListeningSocket.open(
                    listen,
                    freebind: service.configuration.listenFreebind,
                    ipv6Only: listen.isIPv6 && listen.isWildcard && ipv4Beside
                )
            }
            inherited = socket.inherited
            // Urgent data stays in the stream: ftplib sends ABOR's line end as urgent data, and
            // out of band it would be lost and the next command glued to ABOR. Set on the
            // listening socket, which every accepted one inherits it from, instead of a
            // setsockopt per session; also on one handed over by a release that set it per session.
            var inline: CInt = 1
            setsockopt(socket.descriptor, SOL_SOCKET, SO_OOBINLINE, &inline, socklen_t(MemoryLayout<CInt>.size))
            channel = try await bootstrap.withBoundSocket(socket.descriptor).get()
            // SwiftNIO listens again with its default backlog of 128: set ours back.
            Glibc.listen(socket.descriptor, ListeningSocket.backlog)
            self.listeningSockets.register(key, descriptor: socket.descriptor, channel: channel)
        } catch {
            throw BalancerError(
                .listenFailed,
                "virtual service '\(service.name)': cannot listen on \(listen): "
                    + OperatorText.describe(error, host: listen.host, port: listen.port)
            )
        }
        let advertised = service.configuration.listeners.first { $0.endpoint == listen }?.advertisedAddress ?? ""
        self.logger.notice(
            "virtual service listening",
            metadata: [
                "ftp.service": "\(service.name)", "ftp.listen": "\(listen)",
                "ftp.socket": "\(inherited ? "handed over by the previous process" : "new")",
                "ftp.advertise": "\(advertised)",
                "ftp.passive_ports": "\(service.configuration.passivePorts.lowerBound)-\(service.configuration.passivePorts.upperBound)",
                "ftp.algorithm": "\(service.configuration.algorithm.rawValue)",
                "ftp.servers": "\(service.configuration.servers.map(\.address.description).joined(separator: ","))",
            ]
        )
        return channel
    }
}
