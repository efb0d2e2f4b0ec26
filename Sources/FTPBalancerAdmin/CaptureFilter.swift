import FTPProtocol

/// The tcpdump (pcap-filter) expression that captures one control session on both sides of the
/// balancer: its two control connections and its data connections, also those that start after
/// the filter is printed. Built from what the admin API tells of the session and its virtual
/// service; `ftplb show flows --bpf SESSION` prints it.
///
/// pcap-filter gives `and` and `or` the same precedence, left to right: every group is written
/// in parentheses.
package struct CaptureFilter: Equatable, Sendable {
    /// One side's filter and a line that says what it catches and what it cannot tell apart.
    package struct Side: Codable, Equatable, Sendable {
        package var filter: String
        package var comment: String
    }

    package var clientSide: Side
    /// None while the session has no server yet.
    package var serverSide: Side?

    /// Both sides as one expression: `tcpdump -i any 'EXPRESSION'`.
    package var expression: String {
        guard let serverSide = self.serverSide else { return self.clientSide.filter }
        return "(\(self.clientSide.filter)) or (\(serverSide.filter))"
    }

    /// An address and port as the admin API writes them: `192.0.2.1:21`, `[2001:db8::1]:21`.
    package struct HostPort: Equatable, Sendable {
        package var host: String
        package var port: Int

        package init(host: String, port: Int) {
            // As on the wire: an IPv4-mapped address (a v4 client of a `::` listener) is IPv4
            // in the packets, and tcpdump takes no `%zone`.
            self.host = IPAddress.canonical(host)
            self.port = port
        }

        package init?(_ text: String) {
            let host: Substring
            let port: Substring
            if text.hasPrefix("["), let close = text.firstIndex(of: "]"), text[close...].hasPrefix("]:") {
                host = text[text.index(after: text.startIndex)..<close]
                port = text[text.index(close, offsetBy: 2)...]
            } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
                host = text[..<colon]
                port = text[text.index(after: colon)...]
            } else {
                return nil
            }
            guard !host.isEmpty, let number = Int(port), (0...65535).contains(number) else { return nil }
            self.init(host: String(host), port: number)
        }
    }

    /// What the filter is built from.
    package struct Session: Equatable, Sendable {
        package var client: HostPort
        /// The balancer's end of the client's control connection (the VIP and listen port).
        package var listener: HostPort
        /// Where passive data listeners open and active data connections start from.
        package var advertised: String
        package var passivePorts: ClosedRange<Int>
        /// 0: the kernel chooses the source port of active data connections.
        package var activeSourcePort: Int
        /// `none`, `proxy_protocol_v1`, `proxy_protocol_v2` or `transparent`.
        package var clientAddressMode: String
        /// The balancer's end of the server control connection, and the server's.
        package var serverSideLocal: HostPort?
        package var server: HostPort?

        package init(
            client: HostPort,
            listener: HostPort,
            advertised: String,
            passivePorts: ClosedRange<Int>,
            activeSourcePort: Int,
            clientAddressMode: String,
            serverSideLocal: HostPort?,
            server: HostPort?
        ) {
            self.client = client
            self.listener = listener
            self.advertised = IPAddress.canonical(advertised)
            self.passivePorts = passivePorts
            self.activeSourcePort = activeSourcePort
            self.clientAddressMode = clientAddressMode
            self.serverSideLocal = serverSideLocal
            self.server = server
        }
    }

    package init(_ session: Session) {
        self.clientSide = Self.clientSide(session)
        self.serverSide = Self.serverSide(session)
    }

    /// Client side: the control connection by its two ports; data connections by the passive
    /// range on the advertised address and by the active source port. Another session of the
    /// same client address can share those data ports, never the control ports.
    static func clientSide(_ session: Session) -> Side {
        let client = session.client
        let listener = session.listener
        let control = "port \(listener.port) and port \(client.port)"
        let passive = "portrange \(session.passivePorts.lowerBound)-\(session.passivePorts.upperBound)"
        let sameAddress = session.advertised == listener.host
        // With any active source port, every connection between the client and the advertised
        // address may be a data connection, except other control connections; nil: every one.
        let data: String?
        let activeText: String
        if session.activeSourcePort > 0 {
            data = "\(passive) or port \(session.activeSourcePort)"
            activeText = "active data from port \(session.activeSourcePort)"
        } else {
            data = sameAddress ? "not port \(listener.port)" : nil
            activeText = "active data from any port (active_source_port: 0), so any other connection between them"
        }
        let filter: String
        if sameAddress {
            filter =
                "tcp and \(Self.host(client.host)) and \(Self.host(listener.host)) and ((\(control)) or (\(data ?? "tcp")))"
        } else {
            let dataGroup = data.map { "\(Self.host(session.advertised)) and (\($0))" } ?? Self.host(session.advertised)
            filter =
                "tcp and \(Self.host(client.host)) and ((\(Self.host(listener.host)) and \(control)) or (\(dataGroup)))"
        }
        let comment =
            "client side: control \(Self.text(client)) <-> \(Self.text(listener)); data between \(client.host) and "
            + "\(session.advertised) on the passive ports \(session.passivePorts.lowerBound)-"
            + "\(session.passivePorts.upperBound) and \(activeText)"
        return Side(filter: filter, comment: comment)
    }

    /// Server side: the control connection by its two ports; data connections as any other
    /// connection between the balancer's source address and the server, since the ports a
    /// server announces for passive mode, and where it connects from for active mode, are not
    /// known before they are used. Data connections of other sessions with the same server
    /// match too; other sessions' control connections and health checks (which use the server's
    /// control port) do not.
    static func serverSide(_ session: Session) -> Side? {
        guard let local = session.serverSideLocal, let server = session.server else { return nil }
        // Transparent: the balancer speaks to the server from the client's own address.
        let balancer = session.clientAddressMode == "transparent" ? session.client.host : local.host
        let filter =
            "tcp and \(Self.host(balancer)) and \(Self.host(server.host)) and (not port \(server.port) or port \(local.port))"
        var comment =
            "server side: control \(balancer):\(local.port) <-> \(Self.text(server)); data: any other port between "
            + "\(balancer) and \(server.host), as the server's data ports are not known in advance (so data of other "
            + "sessions with this server matches too)"
        switch session.clientAddressMode {
        case "transparent": comment += "; transparent: the balancer uses the client's address"
        case let mode where mode.hasPrefix("proxy_protocol"):
            comment += "; the PROXY header starts the control connection"
        default: break
        }
        return Side(filter: filter, comment: comment)
    }

    static func host(_ address: String) -> String {
        address.contains(":") ? "ip6 host \(address)" : "host \(address)"
    }

    static func text(_ endpoint: HostPort) -> String {
        endpoint.host.contains(":") ? "[\(endpoint.host)]:\(endpoint.port)" : "\(endpoint.host):\(endpoint.port)"
    }
}
