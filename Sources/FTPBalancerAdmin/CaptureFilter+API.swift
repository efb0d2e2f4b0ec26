/// The capture filter from the admin API's views, as `ftplb show flows --bpf` reads them.
extension CaptureFilter.Session {
    /// From one entry of `/api/v1/sessions` and its virtual service's entry of
    /// `/api/v1/services`.
    package init(session: SessionView, service: ServiceView) throws(CaptureFilterError) {
        guard let client = CaptureFilter.HostPort(session.clientSide.client),
            let listener = session.clientSide.balancer.flatMap(CaptureFilter.HostPort.init)
        else {
            throw CaptureFilterError("the session's client-side addresses are missing from the admin API's answer")
        }
        let range = service.passivePorts.split(separator: "-").compactMap { Int($0) }
        guard range.count == 2, range[0] <= range[1] else {
            throw CaptureFilterError(
                "the virtual service's addresses and ports are missing from the admin API's answer"
            )
        }
        self.init(
            client: client,
            listener: listener,
            advertised: Self.advertised(for: listener, service: service),
            passivePorts: range[0]...range[1],
            activeSourcePort: service.activeSourcePort,
            clientAddressMode: service.clientAddress,
            serverSideLocal: session.serverSide.flatMap { CaptureFilter.HostPort($0.balancer) },
            server: session.serverSide?.server.flatMap(CaptureFilter.HostPort.init)
        )
    }

    /// The advertised address of the listener the session came in on: a dual-stack service has
    /// one per family, and an IPv6 session's data connections are on the IPv6 one.
    static func advertised(for listener: CaptureFilter.HostPort, service: ServiceView) -> String {
        let isIPv6 = listener.host.contains(":")
        let exact = service.listeners.first { CaptureFilter.HostPort($0.listen) == listener }
        let sameFamily = service.listeners.first { $0.advertise.contains(":") == isIPv6 }
        return (exact ?? sameFamily)?.advertise ?? service.advertise
    }
}

/// What `ftplb show flows --bpf SESSION --json` prints: the whole expression and each side with
/// its comment.
package struct CaptureFilterView: Codable, Equatable, Sendable {
    package var session: Int
    package var filter: String
    package var clientSide: CaptureFilter.Side
    /// `null` while the session has no server.
    @Nullable package var serverSide: CaptureFilter.Side?

    enum CodingKeys: String, CodingKey {
        case session, filter
        case clientSide = "client_side"
        case serverSide = "server_side"
    }

    package init(_ filter: CaptureFilter, session: Int) {
        self.session = session
        self.filter = filter.expression
        self.clientSide = filter.clientSide
        self.serverSide = filter.serverSide
    }
}

extension CaptureFilter {
    /// The human form: a comment line per side, then the expression alone on the last line.
    package var text: String {
        var lines = ["# " + self.clientSide.comment]
        lines.append("# " + (self.serverSide?.comment ?? "server side: none yet (the session has no server)"))
        lines.append(self.expression)
        return lines.joined(separator: "\n")
    }
}

/// Why no filter could be built, in words for the operator.
package struct CaptureFilterError: Error, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { self.message }
}
