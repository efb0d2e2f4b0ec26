import FTPBalancer
import FTPBalancerConfig
import Logging
import NIOConcurrencyHelpers
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

/// The answer: a status and a JSON document, or for `/metrics` and the status page a text in
/// another format.
package struct AdminResponse: Sendable {
    package var status: HTTPResponseStatus
    /// One of the views (`Views/`), written by the server with `AdminJSON.document`.
    package var answer: (any Encodable & Sendable)?
    package var headers: [(String, String)] = []
    /// Sent instead of `answer` when set, with its content type.
    package var text: (contentType: String, text: String)?
    /// Sent instead of `answer` when set: trace events as they come, in a chunked response.
    package var stream: AdminStream?

    static func error(
        _ status: HTTPResponseStatus,
        _ message: String,
        known: [String]? = nil,
        services: [String]? = nil,
        endpoints: [String]? = nil
    ) -> AdminResponse {
        AdminResponse(
            status: status,
            answer: ErrorAnswer(error: message, endpoints: endpoints, known: known, services: services)
        )
    }

    /// What is sent: the text, or the answer written as JSON.
    package var encoded: (status: HTTPResponseStatus, contentType: String, text: String) {
        if let text = self.text { return (self.status, text.contentType, text.text) }
        // Only a stream has neither text nor answer, and a stream is not written this way.
        let answer: any Encodable & Sendable = self.answer ?? ErrorAnswer(error: "")
        do {
            return (self.status, "application/json", try AdminJSON.document(answer))
        } catch {
            // Only a number JSON cannot write (infinity) gets here; an error answer is strings.
            let error = ErrorAnswer(error: "the answer could not be written as JSON")
            return (.internalServerError, "application/json", (try? AdminJSON.document(error)) ?? "")
        }
    }

    /// A route that takes only `allowed`, asked with another method.
    static func methodNotAllowed(_ request: AdminRequest, allowed: String) -> AdminResponse {
        var response = AdminResponse.error(.methodNotAllowed, "\(request.method) is not allowed on \(request.path)")
        response.headers.append(("Allow", allowed))
        return response
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
    /// Wrong tokens per client address, shared by every connection of the API.
    let authorizationFailures: NIOLockedValueBox<AuthorizationFailureLimit>
    let logger: Logger

    package init(
        balancer: Balancer,
        token: String?,
        reload: @escaping @Sendable () async -> AdminReloadResult,
        metrics: MetricsExposition? = nil,
        logger: Logger
    ) {
        self.init(
            balancer: balancer,
            token: token,
            reload: reload,
            metrics: metrics,
            authorizationLimit: AuthorizationFailureLimit(),
            logger: logger
        )
    }

    init(
        balancer: Balancer,
        token: String?,
        reload: @escaping @Sendable () async -> AdminReloadResult,
        metrics: MetricsExposition? = nil,
        authorizationLimit: AuthorizationFailureLimit,
        logger: Logger
    ) {
        self.balancer = balancer
        self.token = token
        self.reload = reload
        self.metrics = metrics
        self.authorizationFailures = NIOLockedValueBox(authorizationLimit)
        self.logger = logger
    }

    package func respond(to request: AdminRequest) async -> AdminResponse {
        if request.path == Self.healthPath {
            return self.health(request)
        }
        if let token = self.token, let refusal = self.authorizationRefusal(request, token: token, now: .now()) {
            return refusal
        }
        if request.path == StatusPage.path {
            return self.statusPage(request)
        }
        if request.path == Self.metricsPath, let metrics = self.metrics {
            guard request.method == .GET else { return .methodNotAllowed(request, allowed: "GET") }
            return AdminResponse(status: .ok, text: (MetricsExposition.contentType, metrics.render()))
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
            return .methodNotAllowed(
                request,
                allowed: components[0] == "servers" || components[0] == "reload" ? "POST" : "GET"
            )
        default:
            return self.notFound(request.path)
        }
    }

    private func notFound(_ path: String) -> AdminResponse {
        .error(
            .notFound,
            "no such endpoint: \(path)",
            endpoints: Self.views.map { "GET \(Self.prefix)/\($0)" } + [
                "POST \(Self.prefix)/servers/NAME/{enable,disable,drain,weight}",
                "POST \(Self.prefix)/reload",
                "GET \(Self.prefix)/trace?session=ID or ?client=IP",
                "GET \(StatusPage.path)",
                "GET \(Self.healthPath)",
            ] + (self.metrics == nil ? [] : ["GET \(Self.metricsPath)"])
        )
    }

    // MARK: Views

    private func statusPage(_ request: AdminRequest) -> AdminResponse {
        guard request.method == .GET else { return .methodNotAllowed(request, allowed: "GET") }
        return AdminResponse(
            status: .ok,
            headers: StatusPage.headers,
            text: (StatusPage.contentType, StatusPage.document(services: self.balancer.runningServices.map(\.name)))
        )
    }

    private func view(_ name: String) async -> AdminResponse {
        let services = self.balancer.runningServices
        let active = self.balancer.activeSessionCounts
        switch name {
        case "services":
            let views = services.map { ServiceView($0, activeSessions: active[$0.name, default: 0]) }
            return AdminResponse(status: .ok, answer: ServicesAnswer(services: views))
        case "pools":
            let now = NIODeadline.now()
            return AdminResponse(
                status: .ok,
                answer: PoolsAnswer(pools: services.map { PoolView($0.pool.snapshot(now: now)) })
            )
        case "stats":
            let views = services.map { ServiceStatsView($0, activeSessions: active[$0.name, default: 0]) }
            return AdminResponse(status: .ok, answer: StatsAnswer(services: views))
        default:
            let sessions: [SessionSnapshot]
            do {
                sessions = try await self.balancer.sessionSnapshots()
            } catch {
                return .error(.serviceUnavailable, "could not read the sessions: \(OperatorText.describe(error))")
            }
            if name == "sessions" {
                return AdminResponse(status: .ok, answer: SessionsAnswer(sessions: sessions.map(SessionView.init)))
            }
            return AdminResponse(
                status: .ok,
                answer: FlowsAnswer(flows: sessions.flatMap(\.dataFlows).map(FlowView.init))
            )
        }
    }
}
