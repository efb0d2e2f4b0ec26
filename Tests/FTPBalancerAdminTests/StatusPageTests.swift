import FoundationEssentials
import NIOHTTP1
import Testing

@testable import FTPBalancerAdmin

@Suite struct StatusPageTests {
    @Test func escapingTurnsEveryMarkupCharacterIntoAnEntity() {
        #expect(
            StatusPage.escape(#"<img src="x" onerror='y'>&"#)
                == "&lt;img src=&quot;x&quot; onerror=&#39;y&#39;&gt;&amp;"
        )
        #expect(StatusPage.escape("ftp-a é 1") == "ftp-a é 1")
    }

    @Test func theTitleCarriesTheServiceNamesEscaped() {
        let page = StatusPage.document(services: ["ftp", "a<b>"])
        #expect(page.contains("<title>ftplb status: ftp, a&lt;b&gt;</title>"))
        #expect(!page.contains("a<b>"))
    }

    @Test func thePageIsSelfContained() {
        let page = StatusPage.document(services: ["ftp"])
        for external in ["http:", "https:", "src=", "@import", "url("] {
            #expect(!page.contains(external), "the page refers to something outside it: \(external)")
        }
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.contains("<style>") && page.contains("<script>"))
    }

    @Test func theScriptWritesDataAsTextNeverAsMarkup() {
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("] {
            #expect(!StatusPage.script.contains(sink), "the script uses \(sink)")
        }
        #expect(StatusPage.script.contains(".textContent = "))
    }

    @Test func theScriptPollsEveryViewEveryTwoSeconds() {
        let page = StatusPage.document(services: [])
        #expect(page.contains("const REFRESH_MS = 2000;"))
        #expect(page.contains(#"const VIEWS = ["services", "pools", "sessions", "flows", "stats"];"#))
        #expect(page.contains(#"const API = "/api/v1/";"#))
    }
}

@Suite struct StatusPageRouteTests {
    static let basic = "Basic " + "anyone:\(AdminAPITests.token)".base64ForTest

    @Test func slashServesThePageAsHTMLWithAContentSecurityPolicy() async {
        let response = await AdminAPITests.api().respond(to: AdminAPITests.request(.GET, "/"))
        #expect(response.status == .ok)
        #expect(response.text?.contentType == "text/html; charset=utf-8")
        #expect(response.text?.text.contains("<title>ftplb status") == true)
        #expect(response.headers.contains { $0.0 == "Content-Security-Policy" && $0.1.contains("default-src 'none'") })
    }

    @Test func onlyGETIsAllowedOnThePage() async {
        let response = await AdminAPITests.api().respond(to: AdminAPITests.request(.POST, "/"))
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers.contains { $0 == ("Allow", "GET") })
    }

    @Test func withATokenThePageAsksABrowserForBasicCredentials() async {
        let api = AdminAPITests.api()
        let page = await api.respond(to: AdminAPITests.request(.GET, "/", token: nil))
        #expect(page.status == .unauthorized)
        #expect(page.headers.contains { $0 == ("WWW-Authenticate", #"Basic realm="ftplb""#) })
        let view = await api.respond(to: AdminAPITests.request(.GET, "/api/v1/pools", token: nil))
        #expect(view.headers.contains { $0 == ("WWW-Authenticate", #"Bearer realm="ftplb""#) })
    }

    @Test func theTokenAsBasicPasswordOpensThePageAndEveryView() async {
        let api = AdminAPITests.api()
        for path in ["/", "/api/v1/pools", "/api/v1/flows"] {
            let request = AdminRequest(method: .GET, uri: path, authorization: Self.basic, peer: "127.0.0.1:5000")
            #expect(await api.respond(to: request).status == .ok, "\(path)")
        }
        let wrong = "Basic " + "anyone:\(AdminAPITests.token)x".base64ForTest
        let request = AdminRequest(method: .GET, uri: "/", authorization: wrong, peer: "127.0.0.1:5000")
        #expect(await api.respond(to: request).status == .unauthorized)
    }

    @Test func basicCredentialsNeedTheTokenExactlyAfterTheFirstColon() {
        #expect(AdminAPI.authorized("Basic " + "u:abc".base64ForTest, token: "abc"))
        #expect(AdminAPI.authorized("basic " + ":abc".base64ForTest, token: "abc"))
        #expect(AdminAPI.authorized("Basic " + "u:a:c".base64ForTest, token: "a:c"))
        #expect(!AdminAPI.authorized("Basic " + "abc".base64ForTest, token: "abc"))
        #expect(!AdminAPI.authorized("Basic " + "abc:u".base64ForTest, token: "abc"))
        #expect(!AdminAPI.authorized("Basic " + "u:ab".base64ForTest, token: "abc"))
        #expect(!AdminAPI.authorized("Basic u:abc", token: "abc"))
        #expect(!AdminAPI.authorized("Digest " + "u:abc".base64ForTest, token: "abc"))
        #expect(AdminAPI.authorized("bearer abc", token: "abc"))
    }
}

@Suite struct BasicCredentialsTests {
    @Test func onlyStrictBase64OfTheCredentialsIsAccepted() {
        #expect("u:abc".base64ForTest == "dTphYmM=")
        #expect(AdminAPI.authorized("Basic dTphYmM=", token: "abc"))
        for malformed in ["dTphYmM", "dTph YmM=", "dTphYmM=dTphYmM=", "dTph!mM=", "=dTphYmM"] {
            #expect(!AdminAPI.authorized("Basic \(malformed)", token: "abc"), "\(malformed)")
        }
    }

    @Test func credentialsLongerThanTheLimitAreRefusedBeforeDecoding() {
        let token = String(repeating: "t", count: 800)
        #expect(("u:" + token).base64ForTest.utf8.count > AdminAPI.basicCredentialsLimit)
        #expect(!AdminAPI.authorized("Basic " + ("u:" + token).base64ForTest, token: token))
        #expect(AdminAPI.authorized("Bearer " + token, token: token))
    }
}

extension String {
    /// Standard Base64 with padding, for building Basic credentials in tests.
    var base64ForTest: String {
        Data(self.utf8).base64EncodedString()
    }
}
