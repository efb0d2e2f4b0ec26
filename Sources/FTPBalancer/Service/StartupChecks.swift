#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FTPBalancerConfig
import NIOCore

/// Checks made before listening, so that a missing privilege is reported at start-up rather
/// than as a failed transfer hours later.
package enum StartupChecks {
    /// Active-mode data connections leave from the advertised address and a port below 1024
    /// (20 by default), which needs root or CAP_NET_BIND_SERVICE.
    package static func checkActiveSourcePorts(_ configuration: BalancerConfiguration) throws(BalancerError) {
        let sources = configuration.virtualServices.flatMap { service in
            service.listeners.map { (service, $0.advertisedAddress) }
        }
        for (service, address) in sources where service.activeSourcePort > 0 {
            guard let socketAddress = try? SocketAddress(ipAddress: address, port: service.activeSourcePort) else {
                continue
            }
            if let errorNumber = Self.bindError(socketAddress, freebind: service.listenFreebind) {
                let reason = String(cString: strerror(errorNumber))
                var message =
                    "virtual service '\(service.name)': cannot bind \(socketAddress.ipAddress ?? address) port \(service.activeSourcePort), the source of active-mode data connections: \(reason)."
                if errorNumber == EACCES {
                    message += " Run ftplb as root or grant it CAP_NET_BIND_SERVICE, or set active_source_port: 0 (--active-source-port 0) to let the kernel choose."
                } else if errorNumber == EADDRNOTAVAIL {
                    message += " The advertised address is not an address of this host; set listen_freebind: true if it will be (a VIP that keepalived moves here)."
                }
                throw BalancerError(.activeSourcePortUnavailable, message)
            }
        }
    }

    /// `client_address: transparent` needs CAP_NET_ADMIN and the policy routing and nftables
    /// rules of `TransparentSetup`; without them upstream connections would time out one by one.
    /// Throws naming each missing command; returns warnings for what only non-FTP traffic needs.
    package static func checkTransparentSetup(_ configuration: BalancerConfiguration) throws(BalancerError) -> [String] {
        let services = configuration.transparentServices
        guard !services.isEmpty else { return [] }
        let names = services.map { "'\($0.name)'" }.joined(separator: ", ")
        if let problem = TransparentSocket.permissionProblem() {
            throw BalancerError(
                .transparentSetupMissing,
                "client_address: transparent (virtual service \(names)): cannot set IP_TRANSPARENT on a socket: \(problem). "
                    + "Run ftplb as root or grant it CAP_NET_ADMIN."
            )
        }
        let setup = TransparentSetup(for: configuration)
        let (state, problems) = TransparentHostState.read(for: setup)
        let missing = state.missing(setup)
        let required = missing.filter(\.isRequired)
        guard required.isEmpty else {
            var lines = [
                "client_address: transparent (virtual service \(names)) needs policy routing and nftables rules "
                    + "that are not in place on this host. Missing:"
            ]
            for step in required {
                lines.append("  # \(step.purpose)")
                lines.append(contentsOf: step.shellCommands.map { "  " + $0 })
            }
            lines.append(contentsOf: problems.map { "  (\($0))" })
            lines.append(
                "Run `ftplb setup-transparent` with the same --config file or quick flags to see every command, "
                    + "and add --apply to run them."
            )
            throw BalancerError(.transparentSetupMissing, lines.joined(separator: "\n"))
        }
        return missing.map { step in
            "transparent mode: \(step.purpose) needs `\(step.shellCommands.joined(separator: "; "))`; "
                + "FTP works without it, but other traffic between clients and servers is not routed"
        }
    }

    /// The errno of binding a TCP socket to `address` the way active connections do (with
    /// SO_REUSEADDR), or nil when it works.
    private static func bindError(_ address: SocketAddress, freebind: Bool) -> Int32? {
        let family = address.protocol.rawValue
        #if canImport(Glibc)
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(family, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return errno }
        defer { close(descriptor) }
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if freebind {
            let (level, name) = FreebindSocket.levelAndName(for: address)
            _ = setsockopt(descriptor, level, name, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        let result = address.withSockAddr { pointer, size in
            bind(descriptor, pointer, socklen_t(size))
        }
        return result == 0 ? nil : errno
    }
}
