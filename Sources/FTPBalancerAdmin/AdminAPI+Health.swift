import FTPBalancer
import NIOHTTP1

extension AdminAPI {
    package static let healthPath = "/healthz"

    /// `GET /healthz`: 200 when this node can serve, 503 when it cannot, with the reason as one
    /// line of JSON (`{"status":"ready","reason":"..."}`). Open without the token: keepalived's
    /// check script and a BGP speaker's health check ask it every second, and it tells nothing
    /// about sessions or servers.
    func health(_ request: AdminRequest) -> AdminResponse {
        guard request.method == .GET else {
            var response = AdminResponse.error(.methodNotAllowed, "\(request.method) is not allowed on \(request.path)")
            response.headers.append(("Allow", "GET"))
            return response
        }
        let readiness = self.balancer.readiness()
        var line = JSONLineObject()
        line.add("status", string: readiness.isReady ? "ready" : "not_ready")
        line.add("reason", string: readiness.reason)
        var response = AdminResponse(status: readiness.isReady ? .ok : .serviceUnavailable, body: .null)
        response.text = ("application/json", line.text + "\n")
        return response
    }
}
