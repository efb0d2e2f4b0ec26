import NIOCore

extension ControlSession {
    /// What the admin API shows of this session. Runs on the session's event loop, where every
    /// field it reads lives, so the session itself pays nothing until someone asks.
    func snapshot(now: NIODeadline) -> SessionSnapshot {
        let flows = self.liveDataFlows.map { $0.snapshot(session: self.id, service: self.service.name, now: now) }
        return SessionSnapshot(
            id: self.id,
            service: self.service.name,
            client: self.clientChannel.remoteAddress.logDescription,
            server: self.lease?.server.name,
            serverAddress: self.lease?.server.address.description,
            clientSideLocal: self.clientChannel.localAddress?.logDescription,
            serverSideLocal: self.serverChannel?.localAddress?.logDescription,
            user: self.summary.user,
            state: self.machine.phase,
            lastCommand: self.summary.lastCommand,
            age: now - self.summary.started,
            bytesToClient: self.summary.bytesToClient + flows.reduce(0) { $0 + $1.bytesToClient },
            bytesToServer: self.summary.bytesToServer + flows.reduce(0) { $0 + $1.bytesToServer },
            dataFlows: flows,
            tls: self.tls?.control,
            serverTLS: self.serverControlTLS
        )
    }
}
