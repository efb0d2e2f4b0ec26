import FTPBalancer
import FTPBalancerConfig
import Logging
import NIOCore
import NIOHTTP1

/// One HTTP request to the admin API, read whole (bodies are small).
package struct AdminRequest: Sendable {
    package var method: HTTPMethod
    /// The path, without the query.
    package var path: String
    package var query: [String: String]
    package var authorization: String?
    package var body: ByteBuffer
    /// Who asked, for the log.
    package var peer: String

    package init(method: HTTPMethod, uri: String, authorization: String?, body: ByteBuffer = ByteBuffer(), peer: String)
    {
        self.method = method
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.path = String(parts[0])
        self.query = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = PercentEncoding.decode(keyValue[0]) ?? ""
                self.query[key] = keyValue.count == 2 ? PercentEncoding.decode(keyValue[1]) : ""
            }
        }
        self.authorization = authorization
        self.body = body
        self.peer = peer
    }
}

/// The answer: a status and a JSON document, or for `/metrics` a text in another format.
package struct AdminResponse: Sendable {
    package var status: HTTPResponseStatus
    package var body: JSONValue
    package var headers: [(String, String)] = []
    /// Sent instead of `body` when set, with its content type.
    package var text: (contentType: String, text: String)?
    /// Sent instead of `body` when set: JSON lines as they come, in a chunked response.
    package var stream: AdminStream?

    static func error(
        _ status: HTTPResponseStatus,
        _ message: String,
        _ more: KeyValuePairs<String, JSONValue> = [:]
    ) -> AdminResponse {
        AdminResponse(
            status: status,
            body: .object(
                [JSONField(key: "error", value: .string(message))]
                    + more.map { JSONField(key: $0.key, value: $0.value) }
            )
        )
    }
}

/// What a reload through the API came to: the same outcomes as SIGHUP.
package enum AdminReloadResult: Sendable {
    case reloaded(services: Int)
    /// The file was refused (invalid, or a listener could not be opened); the running
    /// configuration stays.
    case refused(String)
    /// There is no file to re-read: the quick command-line form.
    case unavailable(String)
}

/// The routes of the admin API: read-only views of the running balancer, and the few actions an
/// operator needs during an incident. Every action is logged at notice with who asked.
package struct AdminAPI: Sendable {
    package static let prefix = "/api/v1"
    package static let metricsPath = "/metrics"
    static let views = ["services", "pools", "sessions", "flows", "stats"]
    static let serverActions: [String: ServerAdminState] = [
        "enable": .enabled, "disable": .disabled, "drain": .draining,
    ]

    let balancer: Balancer
    let token: String?
    let reload: @Sendable () async -> AdminReloadResult
    /// Served at `GET /metrics`, under the same token rule; none, and `/metrics` is not found.
    let metrics: MetricsExposition?
    let logger: Logger

    package init(
        balancer: Balancer,
        token: String?,
        reload: @escaping @Sendable () async -> AdminReloadResult,
        metrics: MetricsExposition? = nil,
        logger: Logger
    ) {
        self.balancer = balancer
        self.token = token
        self.reload = reload
        self.metrics = metrics
        self.logger = logger
    }

    package func respond(to request: AdminRequest) async -> AdminResponse {
        if request.path == Self.healthPath {
            return self.health(request)
        }
        if let token = self.token, !Self.authorized(request.authorization, token: token) {
            self.logger.notice(
                "admin API: request refused: missing or wrong token",
                metadata: ["ftp.admin.peer": "\(request.peer)"]
            )
            var response = AdminResponse.error(
                .unauthorized,
                "a valid token is required: send Authorization: Bearer TOKEN, or the token as Basic password (admin.token)"
            )
            // The status page is opened by a browser, which prompts for Basic credentials only.
            let scheme = request.path == StatusPage.path ? "Basic" : "Bearer"
            response.headers.append(("WWW-Authenticate", "\(scheme) realm=\"ftplb\""))
            return response
        }
        if request.path == StatusPage.path {
            return self.statusPage(request)
        }
        if request.path == Self.metricsPath, let metrics = self.metrics {
            guard request.method == .GET else {
                var response = AdminResponse.error(
                    .methodNotAllowed,
                    "\(request.method) is not allowed on \(request.path)"
                )
                response.headers.append(("Allow", "GET"))
                return response
            }
            var response = AdminResponse(status: .ok, body: .null)
            response.text = (MetricsExposition.contentType, metrics.render())
            return response
        }
        guard request.path.hasPrefix(Self.prefix + "/") else {
            return self.notFound(request.path)
        }
        let components = request.path.dropFirst(Self.prefix.count + 1).split(
            separator: "/",
            omittingEmptySubsequences: false
        )
        switch (request.method, components.count) {
        case (.GET, 1) where Self.views.contains(String(components[0])):
            return await self.view(String(components[0]))
        case (.GET, 1) where components[0] == "trace":
            return self.trace(request)
        case (.POST, 1) where components[0] == "reload":
            return await self.reload(request)
        case (.POST, 3) where components[0] == "servers":
            guard let name = PercentEncoding.decode(components[1]), !name.isEmpty else {
                return .error(.badRequest, "the server name in the path is not valid percent-encoded UTF-8")
            }
            return self.serverAction(String(components[2]), server: name, request: request)
        case (_, 1) where Self.views.contains(String(components[0])) || components[0] == "reload",
            (_, 3) where components[0] == "servers":
            var response = AdminResponse.error(.methodNotAllowed, "\(request.method) is not allowed on \(request.path)")
            response.headers.append(("Allow", components[0] == "servers" || components[0] == "reload" ? "POST" : "GET"))
            return response
        default:
            return self.notFound(request.path)
        }
    }

    private func notFound(_ path: String) -> AdminResponse {
        .error(
            .notFound,
            "no such endpoint: \(path)",
            [
                "endpoints": .array(
                    Self.views.map { .string("GET \(Self.prefix)/\($0)") } + [
                        .string("POST \(Self.prefix)/servers/NAME/{enable,disable,drain,weight}"),
                        .string("POST \(Self.prefix)/reload"),
                        .string("GET \(Self.prefix)/trace?session=ID or ?client=IP"),
                        .string("GET \(StatusPage.path)"),
                        .string("GET \(Self.healthPath)"),
                    ] + (self.metrics == nil ? [] : [.string("GET \(Self.metricsPath)")])
                )
            ]
        )
    }

    // MARK: Views

    private func statusPage(_ request: AdminRequest) -> AdminResponse {
        guard request.method == .GET else {
            var response = AdminResponse.error(.methodNotAllowed, "\(request.method) is not allowed on \(request.path)")
            response.headers.append(("Allow", "GET"))
            return response
        }
        var response = AdminResponse(status: .ok, body: .null)
        response.text = (
            StatusPage.contentType,
            StatusPage.document(services: self.balancer.runningServices.map(\.name))
        )
        response.headers.append(contentsOf: StatusPage.headers)
        return response
    }

    private func view(_ name: String) async -> AdminResponse {
        let services = self.balancer.runningServices
        let active = self.balancer.activeSessionCounts
        switch name {
        case "services":
            return AdminResponse(
                status: .ok,
                body: .object([
                    "services": .array(services.map { $0.json(activeSessions: active[$0.name, default: 0]) })
                ])
            )
        case "pools":
            let now = NIODeadline.now()
            return AdminResponse(
                status: .ok,
                body: .object(["pools": .array(services.map { $0.pool.snapshot(now: now).json })])
            )
        case "stats":
            return AdminResponse(
                status: .ok,
                body: .object([
                    "services": .array(services.map { $0.statisticsJSON(activeSessions: active[$0.name, default: 0]) })
                ])
            )
        default:
            let sessions: [SessionSnapshot]
            do {
                sessions = try await self.balancer.sessionSnapshots()
            } catch {
                return .error(.serviceUnavailable, "could not read the sessions: \(OperatorText.describe(error))")
            }
            if name == "sessions" {
                return AdminResponse(status: .ok, body: .object(["sessions": .array(sessions.map(\.json))]))
            }
            return AdminResponse(
                status: .ok,
                body: .object(["flows": .array(sessions.flatMap(\.dataFlows).map(\.json))])
            )
        }
    }
}
