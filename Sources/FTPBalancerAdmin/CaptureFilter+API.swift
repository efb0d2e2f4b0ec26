/// The capture filter from the admin API's JSON, as `ftplb show flows --bpf` reads it.
extension CaptureFilter.Session {
    /// From one entry of `/api/v1/sessions` and its virtual service's entry of
    /// `/api/v1/services`.
    package init(session: JSONValue, service: JSONValue) throws(CaptureFilterError) {
        guard let client = session["client_side"]?["client"]?.stringValue.flatMap(CaptureFilter.HostPort.init),
            let listener = session["client_side"]?["balancer"]?.stringValue.flatMap(CaptureFilter.HostPort.init)
        else {
            throw CaptureFilterError("the session's client-side addresses are missing from the admin API's answer")
        }
        let range = service["passive_ports"]?.stringValue?.split(separator: "-").compactMap { Int($0) } ?? []
        guard let advertised = Self.advertised(for: listener, service: service), range.count == 2, range[0] <= range[1],
            let activeSourcePort = service["active_source_port"]?.intValue,
            let mode = service["client_address"]?.stringValue
        else {
            throw CaptureFilterError(
                "the virtual service's addresses and ports are missing from the admin API's answer"
            )
        }
        let serverSide = session["server_side"]
        self.init(
            client: client,
            listener: listener,
            advertised: advertised,
            passivePorts: range[0]...range[1],
            activeSourcePort: activeSourcePort,
            clientAddressMode: mode,
            serverSideLocal: serverSide?["balancer"]?.stringValue.flatMap(CaptureFilter.HostPort.init),
            server: serverSide?["server"]?.stringValue.flatMap(CaptureFilter.HostPort.init)
        )
    }

    /// The advertised address of the listener the session came in on: a dual-stack service has
    /// one per family, and an IPv6 session's data connections are on the IPv6 one.
    static func advertised(for listener: CaptureFilter.HostPort, service: JSONValue) -> String? {
        let listeners = service["listeners"]?.arrayValue ?? []
        let isIPv6 = listener.host.contains(":")
        let exact = listeners.first { $0["listen"]?.stringValue.flatMap(CaptureFilter.HostPort.init) == listener }
        let sameFamily = listeners.first { ($0["advertise"]?.stringValue?.contains(":") ?? false) == isIPv6 }
        return (exact ?? sameFamily)?["advertise"]?.stringValue ?? service["advertise"]?.stringValue
    }
}

extension CaptureFilter {
    /// What `--json` prints: the whole expression and each side with its comment.
    package func json(session: Int) -> JSONValue {
        .object([
            "session": .integer(session),
            "filter": .string(self.expression),
            "client_side": .object([
                "filter": .string(self.clientSide.filter), "comment": .string(self.clientSide.comment),
            ]),
            "server_side": self.serverSide.map { side in
                .object(["filter": .string(side.filter), "comment": .string(side.comment)])
            } ?? .null,
        ])
    }

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
