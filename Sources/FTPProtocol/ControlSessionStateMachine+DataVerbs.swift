import NIOCore

/// The data-connection verbs: which one the server gets for the client's (`DataTransferPolicy`),
/// and what the server's reply to it means for the client, who never sees the difference.
extension ControlSessionStateMachine {
    /// PASV or EPSV from the client, checked already.
    mutating func passive(_ kind: PassiveKind, _ command: FTPCommand) -> OnClientCommand {
        let verb = self.serverVerb(forClient: kind == .pasv ? .pasv : .epsv)
        switch verb {
        case .pasv, .epsv:
            let retry = verb == .epsv && self.policy.retriesWithPASV(serverIsIPv6: self.serverIsIPv6)
            self.expectations.append(.serverPassive(.passive(kind), retry: retry))
            return .forward(command.verb == verb.rawValue ? command : FTPCommand(verb: verb.rawValue))
        case .port, .eprt:
            return .openTranslatedPassive(
                TranslatedPassiveRequest(kind: kind, serverVerb: verb == .port ? .port : .eprt)
            )
        }
    }

    /// The policy's verb for this server; PASV for EPSV once the server has refused EPSV.
    private func serverVerb(forClient clientVerb: DataVerb) -> DataVerb {
        let verb = self.policy.serverVerb(forClient: clientVerb, serverIsIPv6: self.serverIsIPv6)
        return verb == .epsv && self.serverRefusedEPSV ? .pasv : verb
    }

    /// PORT or EPRT from the client, whose address has passed the bounce checks.
    mutating func routeActive(_ request: ActiveRequest) -> OnClientCommand {
        let verb = self.serverVerb(forClient: request.kind == .port ? .port : .eprt)
        switch verb {
        case .port, .eprt:
            var request = request
            request.serverVerb = verb == .port ? .port : .eprt
            return .openActive(request)
        case .pasv, .epsv:
            let retry = verb == .epsv && self.policy.retriesWithPASV(serverIsIPv6: self.serverIsIPv6)
            self.expectations.append(.serverPassive(.active(request), retry: retry))
            return .forward(FTPCommand(verb: verb.rawValue))
        }
    }

    /// The command for the server once the listener for its data connection is open at
    /// `host`:`port`: `kind` as asked, but EPRT whenever the address is IPv6, which PORT cannot
    /// carry. `answering` is the client's PASV/EPSV this stands for, if any.
    package mutating func activeListenerReady(
        kind: ActiveKind,
        host: String,
        port: Int,
        answering: PassiveKind? = nil
    ) -> FTPCommand {
        self.expectations.append(.serverActive(answering: answering))
        if kind == .port, let octets = IPAddress(host)?.ipv4Octets {
            return FTPCommand(verb: "PORT", argument: HostPortAddress(octets: octets, port: UInt16(port)).text)
        }
        let family: ExtendedAddress.NetworkProtocol = host.contains(":") ? .ipv6 : .ipv4
        return FTPCommand(
            verb: "EPRT",
            argument: ExtendedAddress(networkProtocol: family, host: host, port: UInt16(port)).text
        )
    }

    /// The reply a client gets to its PORT/EPRT once the balancer has connected to it, when the
    /// server got PASV/EPSV instead.
    package func activeReply(kind: ActiveKind) -> String {
        "200 \(kind == .port ? "PORT" : "EPRT") command successful."
    }

    /// What a server reply to a data verb means; nil for replies handled like any other.
    mutating func dataReply(
        _ line: ByteBuffer,
        code: Int,
        framing: ReplyLine,
        expectation: Expectation?
    ) -> OnServerReplyLine? {
        switch expectation {
        case .serverPassive(let request, retry: true) where code == 500 || code == 502:
            guard framing.endsCommand else { return .drop }
            self.serverRefusedEPSV = true
            self.expectations.prepend(.serverPassive(request, retry: false))
            return .resend(FTPCommand(verb: "PASV"))
        case .serverPassive(let request, _):
            guard framing.position == .single, code == 227 || code == 229 else { return nil }
            let kind: PassiveKind
            switch request {
            case .passive(let asked): kind = asked
            case .active: kind = code == 227 ? .pasv : .epsv
            }
            return self.passiveReply(line, code: code, kind: kind) { passive in
                switch request {
                case .passive: return .openPassive(passive)
                case .active(let active): return .openTranslatedActive(active, passive)
                }
            }
        case .serverActive(let answering):
            // A translated PASV/EPSV gets the balancer's 227/229, never the lines of a 200.
            guard framing.endsCommand else { return answering == nil ? nil : .drop }
            guard (200..<300).contains(code) else { return .activeRefused(self.scrubbed(line)) }
            return answering.map { .answerPassive($0) }
        case .featureList, .transfer, .other, nil:
            // A passive reply to no PASV/EPSV still names a server port: never relay it.
            guard framing.position == .single, code == 227 || code == 229 else { return nil }
            return self.passiveReply(line, code: code, kind: code == 227 ? .pasv : .epsv) { .openPassive($0) }
        }
    }

    private func passiveReply(
        _ line: ByteBuffer,
        code: Int,
        kind: PassiveKind,
        action: (PassiveRequest) -> OnServerReplyLine
    ) -> OnServerReplyLine {
        let unusable = BalancerReply.unusablePassiveReply
        do {
            if code == 227 {
                let text = String(decoding: line.readableBytesView.dropFirst(4), as: UTF8.self)
                let address = try HostPortAddress(passiveReplyText: text)
                return action(PassiveRequest(kind: kind, announcedHost: address.host, serverPort: Int(address.port)))
            }
            let port = try ExtendedPassiveReply.port(
                inReplyText: String(decoding: line.readableBytesView, as: UTF8.self)
            )
            return action(PassiveRequest(kind: kind, announcedHost: nil, serverPort: Int(port)))
        } catch {
            return .replace(unusable, error)
        }
    }
}

extension ControlSessionStateMachine.Expectation {
    /// Commands wait while the balancer may still have to send the server something for this
    /// one (PASV after a refused EPSV), so that the server gets commands in the client's order.
    var holdsCommands: Bool {
        switch self {
        case .serverPassive(_, let retry): return retry
        case .serverActive, .featureList, .transfer, .other: return false
        }
    }
}
