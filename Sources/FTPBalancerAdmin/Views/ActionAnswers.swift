/// Every refusal of the admin API: the message, and for some the names there are. The lists are
/// left out where they do not apply.
package struct ErrorAnswer: Codable, Equatable, Sendable {
    package var error: String
    /// For an unknown endpoint: those that exist.
    package var endpoints: [String]? = nil
    /// For an unknown service or server: the names there are.
    package var known: [String]? = nil
    /// For a server name that is in several virtual services: those services.
    package var services: [String]? = nil
}

/// The body of `POST /api/v1/servers/NAME/weight`.
package struct WeightRequest: Codable, Equatable, Sendable {
    package var weight: Int

    package init(weight: Int) {
        self.weight = weight
    }
}

/// What a server action changed, until the next reload.
package struct ServerChangeAnswer: Codable, Equatable, Sendable {
    package var service: String
    package var server: String
    /// `state` or `weight`.
    package var setting: String
    package var from: String
    package var to: String
}

/// `POST /api/v1/reload` that took.
package struct ReloadAnswer: Codable, Equatable, Sendable {
    /// `reloaded`.
    package var result: String
    /// How many virtual services now run.
    package var services: Int
}

/// `GET /healthz`: whether this node can serve, and why.
package struct HealthAnswer: Codable, Equatable, Sendable {
    /// `ready` or `not_ready`.
    package var status: String
    package var reason: String
}
