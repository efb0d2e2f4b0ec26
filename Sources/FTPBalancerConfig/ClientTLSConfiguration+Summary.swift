extension ClientTLSConfiguration {
    /// The lines of a virtual service's summary that describe its FTPS: the files by name only,
    /// never their contents.
    var summaryLines: [String] {
        var lines = ["  tls:                \(self.modeSummary), TLS \(self.minVersion.rawValue) or later"]
        lines.append("  tls certificate:    \(self.identity.summary)")
        for identity in self.sniIdentities {
            lines.append("  tls certificate:    \(identity.summary), for the names it holds (SNI)")
        }
        if let ciphers = self.ciphers {
            lines.append("  tls ciphers:        \(ciphers) (TLS 1.2)")
        }
        lines.append("  tls require:        \(self.requireSummary)")
        lines.append("  tls session reuse:  \(self.sessionReuseSummary)")
        return lines
    }

    private var modeSummary: String {
        switch self.mode {
        case .explicit: return "explicit (plain FTP until AUTH TLS)"
        case .implicit: return "implicit (TLS from connect)"
        }
    }

    private var requireSummary: String {
        switch self.require {
        case .none: return "none (plain FTP still allowed)"
        case .login: return "login (USER before AUTH TLS gets 530)"
        case .data: return "data (login, and transfers under PROT C get 534)"
        }
    }

    private var sessionReuseSummary: String {
        switch self.sessionReuse {
        case .required: return "required (a data connection that does not resume its TLS session is refused)"
        case .preferred: return "preferred (a data connection that does not resume is logged, not refused)"
        case .off: return "off (not checked)"
        }
    }
}

extension ClientTLSConfiguration.Identity {
    /// `/etc/ftplb/ftps.pem (key /etc/ftplb/ftps.key)`.
    var summary: String {
        "\(self.certificateFile) (key \(self.privateKeyFile))"
    }
}
