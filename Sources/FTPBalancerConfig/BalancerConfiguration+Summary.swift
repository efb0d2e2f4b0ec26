extension BalancerConfiguration {
    /// What would run, in a few lines per virtual service, for `ftplb check-config`: the values
    /// after defaults are applied, so the operator sees what the file left unsaid.
    package var summary: String {
        var lines = [
            "log level: \(self.logLevel.rawValue)",
            "shutdown grace: \(VirtualServiceConfiguration.seconds(self.shutdownGrace))",
            "upgrade drain: \(VirtualServiceConfiguration.seconds(self.upgradeDrain))",
        ]
        if !self.transparentServices.isEmpty {
            lines.append(
                "transparent mode: fwmark 0x\(String(self.transparent.fwmark, radix: 16)), route table \(self.transparent.routeTable)"
            )
        }
        lines.append("admin API: \(self.admin.summary)")
        if let transferLog = self.transferLog {
            lines.append("transfer log: \(transferLog.path) (\(transferLog.format.rawValue))")
        }
        lines.append("data path: \(self.dataPath.summary)")
        for service in self.virtualServices {
            lines.append(contentsOf: service.summaryLines)
        }
        return lines.joined(separator: "\n")
    }
}

extension VirtualServiceConfiguration {
    /// The lines of `BalancerConfiguration.summary` that describe this service. The health
    /// check's password is never among them: `check-config` output gets pasted into tickets.
    package var summaryLines: [String] {
        let ports = self.passivePorts.count
        var lines = [
            "virtual service '\(self.name)'",
            "  listen:             \(self.listeners.map(\.endpoint.description).joined(separator: ", "))",
            "  advertise:          \(self.listeners.map(\.advertisedAddress).joined(separator: ", "))",
            "  passive ports:      \(self.passivePorts.lowerBound)-\(self.passivePorts.upperBound) "
                + "(\(ports) \(ports == 1 ? "port" : "ports"))",
            "  source address:     \(self.sourceAddressSummary)",
            "  active source port: \(self.activeSourcePort == 0 ? "chosen by the kernel" : String(self.activeSourcePort))",
            "  client address:     \(self.clientAddressSummary)",
            "  algorithm:          \(self.algorithm.rawValue)",
        ]
        if self.listenFreebind {
            lines.insert("  listen freebind:    yes: listens before the host holds the address", at: 2)
        }
        if self.dataTransferPolicy != .client {
            lines.append("  data transfer:      \(self.dataTransferPolicy.rawValue) (what the servers get)")
        }
        if let tls = self.tls {
            lines.append(contentsOf: tls.summaryLines)
        }
        if self.algorithm == .perUser {
            lines.append(contentsOf: self.userRouting.summaryLines)
        } else if let greeting = self.greeting {
            lines.append("  greeting:           220 \(greeting) (the balancer's; a server is connected at USER)")
        }
        for server in self.servers {
            lines.append("  server:             \(server.summary)")
        }
        if let serverTLS = self.serverTLS { lines.append("  server TLS:         \(serverTLS.summary)") }
        lines.append(contentsOf: self.healthCheck.summaryLines)
        lines.append("  limits:             \(self.limits.summary)")
        lines.append("  unavailable reply:  421 \(self.unavailableMessage)")
        let timeouts = self.timeouts
        let named: [(String, Duration)] = [
            ("server_connect", timeouts.serverConnect), ("passive_accept", timeouts.passiveAccept),
            ("active_connect", timeouts.activeConnect), ("control_idle", timeouts.controlIdle),
            ("data_idle", timeouts.dataIdle), ("server_greeting", timeouts.serverGreeting), ("login", timeouts.login),
            ("server_reply", timeouts.serverReply),
        ]
        let rendered = named.map { "\($0.0) \(Self.seconds($0.1))" }.joined(separator: ", ")
        lines.append("  timeouts:           \(rendered)")
        return lines
    }

    private var sourceAddressSummary: String {
        let address = self.sourceAddress ?? "chosen by the kernel"
        return self.clientAddress == .transparent ? "\(address) (health checks only; sessions use the client's)" : address
    }

    private var clientAddressSummary: String {
        switch self.clientAddress {
        case .none: return "not passed on (servers see the balancer)"
        case .proxyProtocolV1: return "PROXY protocol v1 header on each control connection"
        case .proxyProtocolV2: return "PROXY protocol v2 header on each control connection"
        case .transparent: return "transparent (upstream connections leave from the client's address)"
        }
    }

    static func seconds(_ duration: Duration) -> String {
        duration.shortText
    }
}

extension ServerConfiguration {
    /// `ftp-a (10.0.2.11:21) weight 3, max 200 sessions, backup, draining`, naming only the
    /// settings that differ from the defaults.
    var summary: String {
        // A name that is only the address as written would say the same thing twice.
        let nameIsAddress = (try? ConfigurationValueParser.endpoint(self.name))?.endpoint == self.address
        var shown = nameIsAddress ? self.address.description : "\(self.name) (\(self.address))"
        var settings: [String] = []
        if self.weight != 1 {
            settings.append("weight \(self.weight)")
        }
        if let maxSessions = self.maxSessions {
            settings.append("max \(maxSessions) \(maxSessions == 1 ? "session" : "sessions")")
        }
        if self.backup {
            settings.append("backup")
        }
        if self.state != .enabled {
            settings.append(self.state.rawValue)
        }
        if !settings.isEmpty {
            shown += " " + settings.joined(separator: ", ")
        }
        return shown
    }
}

extension UserRoutingConfiguration {
    /// The greeting, then one line per mapped user in name order, then what happens to the rest.
    var summaryLines: [String] {
        var lines = ["  greeting:           220 \(self.greeting)"]
        for user in self.users.keys.sorted() {
            lines.append("  user:               \(user) -> \(self.users[user] ?? "")")
        }
        lines.append("  other users:        placed by a consistent hash of the user name")
        return lines
    }
}

extension HealthCheckConfiguration {
    /// What is checked and how often; for the checks that log in, with what, but the password
    /// only as `(set)`.
    var summaryLines: [String] {
        guard self.kind != .none else {
            return ["  health check:       none (every enabled server counts as up)"]
        }
        let seconds = VirtualServiceConfiguration.seconds
        var lines = [
            "  health check:       \(self.kind.rawValue), interval \(seconds(self.interval)), "
                + "timeout \(seconds(self.timeout)), rise \(self.rise), fall \(self.fall)"
        ]
        if self.kind == .ftpLogin || self.kind == .ftpTransfer {
            lines.append(
                "  check login:        user \(self.user ?? "(not set)"), "
                    + "password: \(self.password == nil ? "(not set)" : "(set)")"
            )
        }
        if self.kind == .ftpTransfer {
            let size = self.expectedSize.map { "size \($0) \($0 == 1 ? "byte" : "bytes")" } ?? "any size"
            lines.append(
                "  check transfer:     file \(self.file ?? "(not set)"), \(self.transferMode.rawValue) mode, \(size)"
            )
        }
        return lines
    }
}

extension SessionLimitConfiguration {
    /// `max 1000 sessions, max 16 per client address`, or `unlimited`.
    var summary: String {
        guard self.maxSessions != nil || self.maxSessionsPerClient != nil || self.maxUnauthenticatedPerClient != nil else {
            return "unlimited"
        }
        let total = self.maxSessions.map { "max \($0) \($0 == 1 ? "session" : "sessions")" } ?? "unlimited sessions"
        let perClient =
            self.maxSessionsPerClient.map { "max \($0) per client address" } ?? "unlimited per client address"
        let beforeLogin = self.maxUnauthenticatedPerClient.map { ", max \($0) not logged in per client address" } ?? ""
        return "\(total), \(perClient)\(beforeLogin)"
    }
}

extension AdminConfiguration {
    /// `127.0.0.1:9021, token (set)`: the token itself is never printed.
    var summary: String {
        guard let listen = self.listen else {
            return "off"
        }
        return "\(listen), token \(self.token == nil ? "none (loopback only)" : "(set)")"
    }
}

extension DataPathConfiguration {
    /// `splice, 1MiB pipe per direction, 1 relay thread`, or `copy (through SwiftNIO's buffers)`.
    var summary: String {
        switch self.relay {
        case .copy:
            return "copy (through SwiftNIO's buffers)"
        case .splice:
            let size =
                self.pipeSize % (1 << 20) == 0
                ? "\(self.pipeSize >> 20)MiB" : self.pipeSize % 1024 == 0 ? "\(self.pipeSize >> 10)KiB" : "\(self.pipeSize) bytes"
            return "splice, \(size) pipe per direction, \(self.threads) relay \(self.threads == 1 ? "thread" : "threads")"
        }
    }
}
