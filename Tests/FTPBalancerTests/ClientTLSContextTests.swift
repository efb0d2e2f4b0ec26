import FTPBalancerConfig
import Foundation
import NIOSSL
import Testing

@testable import FTPBalancer

/// A service's loaded `tls:` from real files: the self-test of the one file that reads the TLS
/// library's private handles, the SNI choice, and TLS failures in operator words.
@Suite("A service's TLS context")
final class ClientTLSContextTests {
    let files: TLSTestFiles

    init() throws {
        self.files = try TLSTestFiles()
    }

    deinit {
        self.files.remove()
    }

    func configuration(sni: [ClientTLSConfiguration.Identity] = []) throws -> ClientTLSConfiguration {
        try self.files.key("main.key")
        try self.files.selfSigned("main.pem", key: "main.key", san: "DNS:ftp.example.com")
        return ClientTLSConfiguration(
            mode: .explicit,
            identity: .init(certificateFile: self.files.path("main.pem"), privateKeyFile: self.files.path("main.key")),
            sniIdentities: sni
        )
    }

    @Test func aLoadedContextPassesTheSelfTestAndBindsHandlersToASession() throws {
        let context = try ClientTLSContext.load(try self.configuration())
        #expect(TLSConnectionInternals.selfTest(context: context.context) == nil)
        let session = SessionTLS(context: context)
        let handler = try #require(session.makeHandler())
        let ssl = try #require(TLSConnectionInternals.connection(of: handler))
        #expect(!TLSConnectionInternals.sessionResumed(ssl))
        #expect(context.initialSecurity == .init(offer: .explicit))
    }

    @Test func twoSessionsHaveTwoSessionContexts() throws {
        let context = try ClientTLSContext.load(try self.configuration())
        #expect(SessionTLS(context: context).dataProtection.sessionContext != SessionTLS(context: context).dataProtection.sessionContext)
        #expect(SessionTLS(context: context).dataProtection.sessionContext.count == 32)
    }

    @Test func sniMatchesExactNamesThenOneLabelOfAWildcard() throws {
        try self.files.key("star.key")
        try self.files.selfSigned("star.pem", key: "star.key", san: "DNS:*.files.example.com")
        let star = try TLSMaterial.loadIdentity(.init(certificateFile: self.files.path("star.pem"), privateKeyFile: self.files.path("star.key")))
        let byName = ["*.files.example.com": star]
        #expect(ClientTLSContext.identity(for: "eu.files.example.com", in: byName) != nil)
        #expect(ClientTLSContext.identity(for: "a.eu.files.example.com", in: byName) == nil)
        #expect(ClientTLSContext.identity(for: "files.example.com", in: byName) == nil)
        #expect(ClientTLSContext.identity(for: "localhost", in: byName) == nil)
    }

    @Test func tlsFailuresReadAsReasonsNotErrorStacks() {
        let stack = "[Error: 268435638 error:100000b8:SSL routines:OPENSSL_internal:NO_SHARED_CIPHER at /src/ssl/handshake.cc:123]"
        #expect(TLSErrorText.reasons(in: stack) == "no shared cipher")
        #expect(TLSErrorText.reasons(in: "nothing useful here") == nil)
        #expect(TLSErrorText.describe(NIOSSLError.uncleanShutdown) == "the peer closed the connection without ending TLS (no close_notify)")
    }
}
