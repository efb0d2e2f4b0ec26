import FTPBalancer
import NIOHTTP1

extension AdminAPI {
    package static let healthPath = "/healthz"

    /// `GET /healthz`: 200 when this node can serve, 503 when it cannot, with the reason as one
    /// line of JSON (`{"reason":"...","status":"ready"}`). Open without the token: keepalived's
    /// check script and a BGP speaker's health check ask it every second, and it tells nothing
    /// about sessions or servers.
    func health(_ request: AdminRequest) -> AdminResponse {
        guard request.method == .GET else { return .methodNotAllowed(request, allowed: "GET") }
        let readiness = self.balancer.readiness()
        let answer = HealthAnswer(status: readiness.isReady ? "ready" : "not_ready", reason: readiness.reason)
        // Two strings cannot fail to encode.
        let line = (try? AdminJSON.line(answer)) ?? ""
        return AdminResponse(
            status: readiness.isReady ? .ok : .serviceUnavailable,
            text: ("application/json", line + "\n")
        )
    }
}
