import Testing

@testable import FTPBalancerAdmin

@Suite("The human form of trace events")
struct TraceTextTests {
    @Test("One aligned line: time of day, session, arrow, line.")
    func line() {
        let json =
            #"{"time":"2026-11-21T10:00:00.123Z","session":12,"client":"192.0.2.10","direction":"balancer_to_client","line":"229 Entering Extended Passive Mode (|||40001|)"}"#
        #expect(TraceText.line(json) == "10:00:00.123  #12     B->C  229 Entering Extended Passive Mode (|||40001|)")
    }

    @Test("Every direction has its own arrow.")
    func arrows() {
        func arrow(_ direction: String) -> String? {
            TraceText.line(
                #"{"time":"2026-11-21T10:00:00.123Z","session":1,"client":"192.0.2.10","direction":"\#(direction)","line":"x"}"#
            )?
            .split(separator: " ", omittingEmptySubsequences: true)[2].description
        }
        #expect(arrow("client_to_balancer") == "C->B")
        #expect(arrow("server_to_balancer") == "S->B")
        #expect(arrow("balancer_to_client") == "B->C")
        #expect(arrow("balancer_to_server") == "B->S")
        #expect(arrow("event") == "----")
    }

    @Test("A line that is no trace event is skipped.")
    func notAnEvent() {
        #expect(TraceText.line("not json") == nil)
        #expect(TraceText.line(#"{"error":"x"}"#) == nil)
    }
}

@Suite("The trace endpoint")
struct AdminTraceRouteTests {
    @Test("Without exactly one of session and client the request is refused.")
    func needsOneScope() async {
        let api = AdminAPITests.api()
        #expect(await api.respond(to: AdminAPITests.request(.GET, "/api/v1/trace")).status == .badRequest)
        let both = AdminAPITests.request(.GET, "/api/v1/trace?session=1&client=127.0.0.1")
        #expect(await api.respond(to: both).status == .badRequest)
        let word = AdminAPITests.request(.GET, "/api/v1/trace?session=abc")
        #expect(await api.respond(to: word).status == .badRequest)
    }

    @Test("A session that is not running is a 404 that says so.")
    func unknownSession() async {
        let response = await AdminAPITests.api().respond(to: AdminAPITests.request(.GET, "/api/v1/trace?session=7"))
        #expect(response.status == .notFound)
        #expect((response.answer as? ErrorAnswer)?.error.contains("no running session 7") == true)
        #expect(response.stream == nil)
    }

    @Test("A client trace starts a stream, refused for a client that is not an address.")
    func clientTrace() async {
        let api = AdminAPITests.api()
        let bad = await api.respond(to: AdminAPITests.request(.GET, "/api/v1/trace?client=example.com"))
        #expect(bad.status == .badRequest)
        let response = await api.respond(to: AdminAPITests.request(.GET, "/api/v1/trace?client=192.0.2.10"))
        #expect(response.status == .ok)
        #expect(response.stream != nil)
        response.stream?.cancel()
    }
}
