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

@Suite struct Base64Tests {
    @Test func theRFC4648VectorsDecode() {
        let vectors = ["": "", "Zg==": "f", "Zm8=": "fo", "Zm9v": "foo", "Zm9vYg==": "foob", "Zm9vYmFy": "foobar"]
        for (encoded, decoded) in vectors {
            #expect(Base64.decode(Array(encoded.utf8)) == Array(decoded.utf8), "\(encoded)")
        }
        #expect(Base64.decode(Array("+/+/".utf8)) == [0xFB, 0xFF, 0xBF])
    }

    @Test func malformedTextIsRefused() {
        for encoded in ["Zg=", "Z===", "Zg==Zg==", "Zm9v!A==", "Zm 9v", "=Zm9"] {
            #expect(Base64.decode(Array(encoded.utf8)) == nil, "\(encoded)")
        }
        #expect(Base64.decode([UInt8](repeating: UInt8(ascii: "A"), count: Base64.inputLimit + 4)) == nil)
    }

    @Test func theTestEncoderAgreesWithTheDecoder() {
        for text in ["", "a", "ab", "abc", "user:0123456789abcdef-token"] {
            #expect(Base64.decode(Array(text.base64ForTest.utf8)) == Array(text.utf8))
        }
    }
}

extension String {
    /// Standard Base64 with padding, for building Basic credentials in tests.
    var base64ForTest: String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let bytes = Array(self.utf8)
        var output = ""
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var group = UInt32(0)
            for (offset, byte) in chunk.enumerated() { group |= UInt32(byte) << (16 - 8 * UInt32(offset)) }
            for position in 0..<4 {
                output.append(position <= chunk.count ? alphabet[Int(group >> (18 - 6 * UInt32(position)) & 63)] : "=")
            }
            index += 3
        }
        return output
    }
}
