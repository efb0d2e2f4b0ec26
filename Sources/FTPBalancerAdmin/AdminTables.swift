/// The admin API's answers as tables for `ftplb show`: read from the views the API sends, as
/// any other client would, so that the table can never show what the API does not say.
package enum AdminTables {
    package static func services(_ answer: ServicesAnswer) -> Table {
        var table = Table(
            headers: ["NAME", "LISTEN", "ADVERTISE", "PASSIVE", "ALGORITHM", "CLIENT_ADDRESS", "SERVERS", "SESSIONS"],
            numeric: [6, 7]
        )
        for service in answer.services {
            table.rows.append([
                service.name, service.listen, service.advertise, service.passivePorts, service.algorithm,
                service.clientAddress, "\(service.servers)", "\(service.activeSessions)",
            ])
        }
        return table
    }

    package static func pools(_ answer: PoolsAnswer) -> Table {
        var table = Table(
            headers: ["SERVICE", "SERVER", "ADDRESS", "STATE", "HEALTH", "LAST_CHECK", "SESSIONS", "WEIGHT"],
            numeric: [6, 7]
        )
        var overridden = false
        for pool in answer.pools {
            for server in pool.servers {
                let override = server.adminOverride
                overridden = overridden || override.state != nil || override.weight != nil
                var state = server.state
                if override.state != nil { state += "*" }
                if server.retired { state += " (removed)" }
                var weight = "\(server.weight)"
                if override.weight != nil { weight += "*" }
                table.rows.append([
                    pool.service, server.name, server.address, state, server.health, lastCheck(server.lastCheck),
                    sessions(server), weight,
                ])
            }
        }
        if overridden {
            table.footnote = "* set through the admin API; the next reload sets it back to the file's"
        }
        return table
    }

    package static func sessions(_ answer: SessionsAnswer) -> Table {
        var table = Table(
            headers: [
                "ID", "SERVICE", "CLIENT", "SERVER", "USER", "STATE", "TLS", "SERVER_TLS", "LAST_COMMAND", "AGE",
                "TO_CLIENT", "TO_SERVER",
            ],
            numeric: [0, 9, 10, 11]
        )
        for session in answer.sessions {
            table.rows.append([
                "\(session.id)", session.service, session.client, text(session.server), text(session.user),
                session.state, Self.negotiation(session.tls), Self.negotiation(session.serverTLS), text(session.lastCommand),
                Human.duration(session.ageSeconds),
                Human.bytes(session.bytesToClient), Human.bytes(session.bytesToServer),
            ])
        }
        return table
    }

    package static func flows(_ answer: FlowsAnswer) -> Table {
        var table = Table(
            headers: ["SESSION", "SERVICE", "MODE", "PROT", "CLIENT_SIDE", "SERVER_SIDE", "DIRECTION", "BYTES", "RATE", "AGE"],
            numeric: [0, 7, 8, 9]
        )
        for flow in answer.flows {
            table.rows.append([
                "\(flow.session)", flow.service, flow.mode.uppercased(), Self.protection(flow.clientTLS),
                "\(flow.clientSide.client) > \(text(flow.clientSide.balancer))",
                "\(flow.serverSide.balancer) > \(text(flow.serverSide.server))",
                flow.direction, Human.bytes(flow.bytesToClient + flow.bytesToServer),
                Human.bytes(flow.bytesPerSecond) + "/s", Human.duration(flow.ageSeconds),
            ])
        }
        return table
    }

    /// `TLSv1.3 TLS_AES_256_GCM_SHA384`, or `-` in clear.
    static func negotiation(_ tls: TLSView?) -> String {
        tls.map { "\($0.version) \($0.cipher)" } ?? "-"
    }

    /// `P resumed`, `P new` (allowed by session_reuse) or `C`.
    static func protection(_ tls: TLSView?) -> String {
        guard let tls else { return "C" }
        return tls.resumed ? "P resumed" : "P new"
    }

    package static func stats(_ answer: StatsAnswer) -> Table {
        var table = Table(
            headers: [
                "SERVICE", "SESSIONS", "ACTIVE", "PASV", "EPSV", "PORT", "EPRT", "REWRITTEN", "TO_CLIENT", "TO_SERVER",
                "REFUSALS",
            ],
            numeric: Set(1...9)
        )
        for service in answer.services {
            let data = service.dataConnections
            let refusals = service.refusals.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            table.rows.append([
                service.service, "\(service.sessionsTotal)", "\(service.sessionsActive)",
                text(data["pasv"]), text(data["epsv"]), text(data["port"]), text(data["eprt"]),
                "\(service.rewrittenReplies)", Human.bytes(service.bytesToClient), Human.bytes(service.bytesToServer),
                refusals.isEmpty ? "-" : refusals.joined(separator: ","),
            ])
        }
        return table
    }

    /// A cell: the value as it is, an absent one as `-`.
    static func text(_ value: (some CustomStringConvertible)?) -> String {
        value?.description ?? "-"
    }

    /// `ok 1s ago`, `failed 3s ago: connection refused`, or `-` before the first check.
    static func lastCheck(_ check: ServerView.CheckView?) -> String {
        guard let check else { return "-" }
        let ago = Human.duration(check.secondsAgo)
        if check.passed { return "ok \(ago) ago" }
        return "failed \(ago) ago: \(check.detail)"
    }

    /// `3`, or `3/200` when the server has a session limit.
    static func sessions(_ server: ServerView) -> String {
        guard let limit = server.maxSessions else { return "\(server.activeSessions)" }
        return "\(server.activeSessions)/\(limit)"
    }
}
