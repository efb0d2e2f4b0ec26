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
            state: self.snapshotState,
            lastCommand: self.summary.lastCommand,
            age: now - self.summary.started,
            bytesToClient: self.summary.bytesToClient + flows.reduce(0) { $0 + $1.bytesToClient },
            bytesToServer: self.summary.bytesToServer + flows.reduce(0) { $0 + $1.bytesToServer },
            dataFlows: flows
        )
    }

    private var snapshotState: SessionSnapshot.State {
        if self.awaitingUser { return .awaitingUser }
        if !self.clientOpen || (self.lease != nil && !self.serverOpen) { return .closing }
        if self.shuttingDown { return .shuttingDown }
        if self.serverChannel == nil { return .connecting }
        if self.openDataFlows > 0 { return .transferring }
        if self.awaitingDataPath || self.passiveListener != nil || self.activeListener != nil { return .dataPending }
        return .idle
    }
}
