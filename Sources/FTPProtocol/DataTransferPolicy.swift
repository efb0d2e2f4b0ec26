/// The four ways of making a data connection, as FTP names them (RFC 959, RFC 2428).
package enum DataVerb: String, Equatable, Sendable, CaseIterable {
    case pasv = "PASV"
    case epsv = "EPSV"
    case port = "PORT"
    case eprt = "EPRT"

    /// PASV and EPSV: the side that gets the verb listens.
    package var isPassive: Bool { self == .pasv || self == .epsv }
}

/// Which verb a pool's servers get for a data connection, whatever the client asked for
/// (`data_transfer_policy`). The client's own view never changes: it gets the reply to the
/// verb it sent, and its data connection goes to or comes from the balancer.
package enum DataTransferPolicy: String, Equatable, Sendable, CaseIterable {
    /// The client's verb, in the server's address family.
    case client
    /// EPSV, and PASV if the server answers EPSV with 500 or 502.
    case passive
    /// PORT to an IPv4 server, EPRT to an IPv6 one.
    case active
    case pasv, epsv, port, eprt

    /// The verb a server gets when the client sent `clientVerb`. A server never gets an
    /// address of a family it is not on: PASV and PORT, which can only name IPv4, become EPSV
    /// and EPRT towards an IPv6 server.
    package func serverVerb(forClient clientVerb: DataVerb, serverIsIPv6: Bool) -> DataVerb {
        let verb: DataVerb
        switch self {
        case .client: verb = clientVerb
        case .passive, .epsv: verb = .epsv
        case .active, .port: verb = .port
        case .pasv: verb = .pasv
        case .eprt: verb = .eprt
        }
        switch verb {
        case .pasv where serverIsIPv6: return .epsv
        case .port where serverIsIPv6: return .eprt
        default: return verb
        }
    }

    /// Whether a server's 500 or 502 to EPSV is answered by sending it PASV: only `passive`
    /// promises that, and only an IPv4 server can take PASV.
    package func retriesWithPASV(serverIsIPv6: Bool) -> Bool {
        self == .passive && !serverIsIPv6
    }

    /// `pasv` and `port` name verbs that can only carry IPv4 addresses.
    package var needsIPv4Servers: Bool { self == .pasv || self == .port }
}
