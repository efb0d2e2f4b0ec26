import NIOHTTP1
import Testing

@testable import FTPBalancerAdmin

@Suite struct AdminHealthTests {
    @Test func healthzNeedsNoTokenAndSays503WithItsReasonOnOneLineWhileNothingListens() async {
        // The balancer of `AdminAPITests.api()` has not been run: its listener is not bound.
        let response = await AdminAPITests.api().respond(to: AdminAPITests.request(.GET, "/healthz", token: nil))
        #expect(response.status == .serviceUnavailable)
        #expect(response.text?.contentType == "application/json")
        #expect(
            response.text?.text
                == #"{"reason":"virtual service 'ftp' is not listening on 127.0.0.1:2121","status":"not_ready"}"# + "\n"
        )
    }

    @Test func healthzAnswersGetOnly() async {
        let response = await AdminAPITests.api().respond(to: AdminAPITests.request(.POST, "/healthz", token: nil))
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers.contains { $0 == ("Allow", "GET") })
    }

    @Test func theTokenStillGuardsEverythingElse() async {
        let response = await AdminAPITests.api().respond(to: AdminAPITests.request(.GET, "/healthz/x", token: nil))
        #expect(response.status == .unauthorized)
    }
}
