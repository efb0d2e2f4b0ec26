extension BalancerConfiguration {
    /// What would run, in a few lines per virtual service, for `ftplb check-config`: the values
    /// after defaults are applied, so the operator sees what the file left unsaid.
    package var summary: String {
        var lines = ["log level: \(self.logLevel.rawValue)"]
        for service in self.virtualServices {
            lines.append(contentsOf: service.summaryLines)
        }
        return lines.joined(separator: "\n")
    }
}

extension VirtualServiceConfiguration {
    /// The lines of `BalancerConfiguration.summary` that describe this service.
    package var summaryLines: [String] {
        let ports = self.passivePorts.count
        var lines = [
            "virtual service '\(self.name)'",
            "  listen:             \(self.listen)",
            "  advertise:          \(self.advertisedAddress)",
            "  passive ports:      \(self.passivePorts.lowerBound)-\(self.passivePorts.upperBound) "
                + "(\(ports) \(ports == 1 ? "port" : "ports"))",
            "  source address:     \(self.sourceAddress ?? "chosen by the kernel")",
            "  active source port: \(self.activeSourcePort == 0 ? "chosen by the kernel" : String(self.activeSourcePort))",
        ]
        for server in self.servers {
            // A name that is only the address as written would say the same thing twice.
            let nameIsAddress = (try? ConfigurationValueParser.endpoint(server.name))?.endpoint == server.address
            let shown = nameIsAddress ? server.address.description : "\(server.name) (\(server.address))"
            lines.append("  server:             \(shown)")
        }
        let timeouts = self.timeouts
        let named: [(String, Duration)] = [
            ("server_connect", timeouts.serverConnect), ("passive_accept", timeouts.passiveAccept),
            ("active_connect", timeouts.activeConnect), ("control_idle", timeouts.controlIdle),
            ("data_idle", timeouts.dataIdle),
        ]
        let rendered = named.map { "\($0.0) \(Self.seconds($0.1))" }.joined(separator: ", ")
        lines.append("  timeouts:           \(rendered)")
        return lines
    }

    /// `5s`, `0.5s`: seconds, with as many decimals as the duration needs, down to nanoseconds.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = attoseconds / 1_000_000_000
        guard nanoseconds > 0 else {
            return "\(seconds)s"
        }
        var fraction = String(nanoseconds)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") {
            fraction.removeLast()
        }
        return "\(seconds).\(fraction)s"
    }
}
