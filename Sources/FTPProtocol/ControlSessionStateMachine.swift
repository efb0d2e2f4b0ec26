import NIOCore

/// The rules of one control session, with no I/O: which client commands are relayed, answered
/// by the balancer or turned into data-connection work, and which server reply lines are
/// relayed, rewritten or dropped.
///
/// Replies are matched to commands in order (RFC 959 allows no other): each relayed command
/// expects one completion reply (2xx-5xx), and 1xx replies come before it. Lines are handled one
/// at a time so that no reply is buffered whole.
package struct ControlSessionStateMachine {
    /// The answer to AUTH: the balancer reads the control connection, so it cannot be TLS.
    package static let tlsUnavailableReply = BalancerReply.tlsUnavailable

    package enum PassiveKind: Equatable, Sendable { case pasv, epsv }
    package enum ActiveKind: Equatable, Sendable { case port, eprt }

    package struct Addresses: Equatable, Sendable {
        /// The client's address, canonical, with an IPv4-mapped prefix removed.
        package var client: String
        /// The address written into passive replies; its family decides PASV's availability.
        package var advertised: String
        /// Addresses that must never reach the client (the server's, the balancer's server-side
        /// one); replaced by `advertised` in any reply text.
        package var hidden: [String]

        package init(client: String, advertised: String, hidden: [String]) {
            self.client = client
            self.advertised = advertised
            self.hidden = hidden.filter { !$0.isEmpty && $0 != advertised }
        }
    }

    /// Why the balancer refused a client command itself.
    package enum Refusal: String, Equatable, Sendable {
        case bounceAddress = "bounce_address"
        case privilegedPort = "privileged_port"
        case malformedAddress = "malformed_address"
        case extendedPassiveOnly = "epsv_all"
        case unsupportedCommand = "unsupported_command"
        case tlsUnavailable = "tls_unavailable"
        /// `tls.require`: USER before AUTH TLS.
        case tlsRequired = "tls_required"
        /// `tls.require: data`: a transfer under PROT C.
        case protectionRequired = "protection_required"
    }

    package enum OnClientCommand: Equatable, Sendable {
        /// Relay the command to the server (the client's, or the verb the policy gives it).
        case forward(FTPCommand)
        /// Answer the client with this reply line; nothing goes to the server.
        case answer(String)
        /// Answer the client and log the refusal.
        case refuse(String, Refusal)
        /// Open a listener for the server's data connection, then call `activeListenerReady`.
        case openActive(ActiveRequest)
        /// The client asked for passive mode but the server gets PORT/EPRT: open the client's
        /// passive listener and a listener for the server, then call `activeListenerReady`.
        case openTranslatedPassive(TranslatedPassiveRequest)
    }

    package struct ActiveRequest: Equatable, Sendable {
        package var kind: ActiveKind
        /// Where the balancer connects for the client's data connection.
        package var clientHost: String
        package var clientPort: Int
        /// What the server gets, when it gets PORT/EPRT too.
        package var serverVerb: ActiveKind = .port
    }

    package struct TranslatedPassiveRequest: Equatable, Sendable {
        /// What the client asked for, which decides the reply it gets.
        package var kind: PassiveKind
        package var serverVerb: ActiveKind
    }

    package enum OnServerReplyLine: Equatable, Sendable {
        /// Relay this line (the server's, possibly with hidden addresses replaced).
        case forward(ByteBuffer)
        /// Drop the line (a TLS feature in a FEAT reply, a refusal about to be retried).
        case drop
        /// Open a passive listener, then answer the client with `passiveReply`.
        case openPassive(PassiveRequest)
        /// Send this line instead of the server's, and log: the server's reply was unusable.
        case replace(String, FTPProtocolError)
        /// The server refused the PORT/EPRT the balancer sent: relay the line, close the listener.
        case activeRefused(ByteBuffer)
        /// The server refused EPSV (`data_transfer_policy: passive`): drop its reply, send this.
        case resend(FTPCommand)
        /// The server took the PORT/EPRT sent for a client's PASV/EPSV: answer the client with
        /// `passiveReply` for the passive listener already open.
        case answerPassive(PassiveKind)
        /// The server answered the PASV/EPSV sent for a client's PORT/EPRT: connect to the client
        /// and to the server's port, then answer the client with `activeReply`.
        case openTranslatedActive(ActiveRequest, PassiveRequest)
        /// The end of a FEAT reply: send `features` (the balancer's own), then `closing`, the
        /// server's last line; with no `closing` (a one-line 211), the whole list is the balancer's.
        case endFeatureList(features: [String], closing: ByteBuffer?)
    }

    package struct PassiveRequest: Equatable, Sendable {
        /// What the client asked for, which decides the reply it gets.
        package var kind: PassiveKind
        /// The address a 227 reply announced; nil for 229, which names none.
        package var announcedHost: String?
        package var serverPort: Int
    }

    /// What the client asked for, kept until the server's reply to the verb it got.
    enum ClientDataRequest: Equatable {
        case passive(PassiveKind)
        case active(ActiveRequest)
    }

    enum Expectation: Equatable {
        /// The server got PASV/EPSV; with `retry`, a 500/502 to EPSV is answered by sending PASV.
        case serverPassive(ClientDataRequest, retry: Bool)
        /// The server got PORT/EPRT for a listener of the balancer; `answering` is the client's
        /// PASV/EPSV it stands for, nil when the client sent PORT/EPRT itself.
        case serverActive(answering: PassiveKind?)
        case featureList
        /// A command whose reply follows a data connection: it may come long after.
        case transfer
        case other
    }

    let addresses: Addresses
    let policy: DataTransferPolicy
    let serverIsIPv6: Bool
    /// FEAT lines of the balancer's own (the TLS features it offers).
    let features: [String]
    var expectations = CircularBuffer<Expectation>(initialCapacity: 4)
    private var framer = ReplyFramer()
    private var extendedPassiveOnly = false
    /// Once the server has refused EPSV (`passive`), it gets PASV without a retry.
    var serverRefusedEPSV = false

    /// `policy` decides the verbs the server gets; `serverIsIPv6`, which of them it can take.
    package init(addresses: Addresses, policy: DataTransferPolicy = .client, serverIsIPv6: Bool = false, features: [String] = []) {
        self.addresses = addresses
        self.policy = policy
        self.serverIsIPv6 = serverIsIPv6
        self.features = features
        // The greeting is the reply to the connection itself: replies to commands come after it.
        self.expectations.append(.other)
    }

    /// Completion replies the server still owes for relayed commands.
    package var outstandingReplies: Int { self.expectations.count }

    /// The client's next command must wait for the server's reply to an earlier one.
    package var holdsCommands: Bool { self.expectations.contains { $0.holdsCommands } }

    /// The next reply due is a transfer command's, which waits for its data connection.
    package var awaitsTransferReply: Bool { self.expectations.first == .transfer }

    var advertisedIsIPv6: Bool { self.addresses.advertised.contains(":") }
}

extension ControlSessionStateMachine {
    package mutating func clientCommand(_ command: FTPCommand) -> OnClientCommand {
        switch command.verb {
        case "PASV":
            if self.extendedPassiveOnly {
                return .refuse("501 PASV not allowed after EPSV ALL.", .extendedPassiveOnly)
            }
            if self.advertisedIsIPv6 {
                return .refuse("502 PASV cannot name an IPv6 address; use EPSV.", .unsupportedCommand)
            }
            return self.passive(.pasv, command)
        case "EPSV":
            return self.extendedPassive(command)
        case "PORT":
            if self.extendedPassiveOnly {
                return .refuse("501 PORT not allowed after EPSV ALL.", .extendedPassiveOnly)
            }
            let address: HostPortAddress
            do {
                address = try HostPortAddress(parsing: command.asciiArgument ?? "")
            } catch {
                return .refuse("501 Syntax error in PORT argument.", .malformedAddress)
            }
            return self.active(.port, host: address.host, port: Int(address.port))
        case "EPRT":
            if self.extendedPassiveOnly {
                return .refuse("501 EPRT not allowed after EPSV ALL.", .extendedPassiveOnly)
            }
            let address: ExtendedAddress
            do {
                address = try ExtendedAddress(parsing: command.asciiArgument ?? "")
            } catch where error.code == .unsupportedNetworkProtocol {
                return .refuse(self.networkProtocolReply, .malformedAddress)
            } catch {
                return .refuse("501 Syntax error in EPRT argument.", .malformedAddress)
            }
            return self.active(.eprt, host: address.host, port: Int(address.port))
        case "LPRT", "LPSV", "SPSV":
            return .refuse("502 \(command.verb) is not supported here; use EPSV or PASV.", .unsupportedCommand)
        case "AUTH":
            return .refuse(Self.tlsUnavailableReply, .tlsUnavailable)
        case "FEAT":
            self.expectations.append(.featureList)
            return .forward(command)
        default:
            self.expectations.append(FTPCommand.dataConnectionVerbs.contains(command.verb) ? .transfer : .other)
            return .forward(command)
        }
    }

    /// The reply the client gets once its passive listener is open on `port`.
    package func passiveReply(kind: PassiveKind, port: Int) -> String {
        switch kind {
        case .epsv:
            return "229 Entering Extended Passive Mode (|||\(port)|)"
        case .pasv:
            let octets = IPAddress(self.addresses.advertised)?.ipv4Octets ?? [0, 0, 0, 0]
            return "227 Entering Passive Mode (\(HostPortAddress(octets: octets, port: UInt16(port)).text))."
        }
    }

    private var networkProtocolReply: String {
        self.advertisedIsIPv6 ? "522 Network protocol not supported, use (2)" : "522 Network protocol not supported, use (1)"
    }

    private mutating func extendedPassive(_ command: FTPCommand) -> OnClientCommand {
        switch command.asciiArgument?.uppercased() {
        case nil, "":
            return self.passive(.epsv, command)
        case "ALL":
            // Answered here: the balancer, not the server, chooses how data connections are
            // made towards the server, and from now on it refuses every other mode itself.
            self.extendedPassiveOnly = true
            return .answer("200 EPSV ALL accepted.")
        case "1" where !self.advertisedIsIPv6, "2" where self.advertisedIsIPv6:
            // The family asked for is the client's side; the server gets plain EPSV.
            return self.passive(.epsv, FTPCommand(verb: "EPSV"))
        default:
            return .refuse(self.networkProtocolReply, .malformedAddress)
        }
    }

    private mutating func active(_ kind: ActiveKind, host: String, port: Int) -> OnClientCommand {
        guard IPAddress.canonical(host) == self.addresses.client else {
            return .refuse("504 \(kind == .port ? "PORT" : "EPRT") refused: the address must be your own.", .bounceAddress)
        }
        guard port >= 1024 else {
            return .refuse("504 \(kind == .port ? "PORT" : "EPRT") refused: privileged port.", .privilegedPort)
        }
        return self.routeActive(ActiveRequest(kind: kind, clientHost: self.addresses.client, clientPort: port))
    }
}

extension ControlSessionStateMachine {
    package mutating func serverReplyLine(_ line: ByteBuffer) -> OnServerReplyLine {
        let framing = self.framer.classify(line)
        let expectation = self.expectations.first
        if framing.endsCommand, !self.expectations.isEmpty {
            self.expectations.removeFirst()
        }
        guard framing.position != .unframed, let code = framing.code else {
            return .forward(self.scrubbed(line))
        }
        if let action = self.dataReply(line, code: code, framing: framing, expectation: expectation) {
            return action
        }
        switch (code, framing.position) {
        case (228, .single):
            // LPSV is refused before it reaches a server, but a 228 would carry its address.
            return .replace(BalancerReply.cannotOpenDataConnection, FTPProtocolError(.malformedHostPort, input: "228"))
        case (_, .continuation) where expectation == .featureList && code == 211:
            return Self.isTLSFeature(line) ? .drop : .forward(self.scrubbed(line))
        case (211, .closing) where expectation == .featureList && !self.features.isEmpty:
            return .endFeatureList(features: self.features, closing: self.scrubbed(line))
        case (211, .single) where expectation == .featureList && !self.features.isEmpty:
            return .endFeatureList(features: self.features, closing: nil)
        default:
            return .forward(self.scrubbed(line))
        }
    }

    /// FEAT lines naming TLS features: the server's TLS is not the client's, which the balancer
    /// terminates (and offers itself in `features`) or does not offer at all.
    private static func isTLSFeature(_ line: ByteBuffer) -> Bool {
        let feature = line.readableBytesView.drop { $0 == UInt8(ascii: " ") }.prefix { $0 != UInt8(ascii: " ") }
        let name = String(decoding: feature, as: UTF8.self).uppercased()
        return name == "AUTH" || name == "PBSZ" || name == "PROT"
    }

    func scrubbed(_ line: ByteBuffer) -> ByteBuffer {
        var line = line
        for hidden in self.addresses.hidden {
            line = AddressScrubber.replace(hidden, with: self.addresses.advertised, in: line)
        }
        return line
    }
}
