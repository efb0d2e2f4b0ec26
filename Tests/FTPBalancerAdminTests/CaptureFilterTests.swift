import Testing

@testable import FTPBalancerAdmin

@Suite struct CaptureFilterTests {
    static func session(
        client: String = "192.0.2.7:50000",
        listener: String = "10.0.0.1:21",
        advertised: String = "10.0.0.1",
        activeSourcePort: Int = 20,
        mode: String = "none",
        serverSideLocal: String? = "10.0.2.1:33000",
        server: String? = "10.0.2.11:21"
    ) -> CaptureFilter.Session {
        CaptureFilter.Session(
            client: CaptureFilter.HostPort(client)!,
            listener: CaptureFilter.HostPort(listener)!,
            advertised: advertised,
            passivePorts: 40000...40999,
            activeSourcePort: activeSourcePort,
            clientAddressMode: mode,
            serverSideLocal: serverSideLocal.flatMap(CaptureFilter.HostPort.init),
            server: server.flatMap(CaptureFilter.HostPort.init)
        )
    }

    @Test func bothSidesAreOneExpressionWithEveryGroupInParentheses() {
        let filter = CaptureFilter(Self.session())
        #expect(
            filter.clientSide.filter
                == "tcp and host 192.0.2.7 and host 10.0.0.1 and ((port 21 and port 50000) or (portrange 40000-40999 or port 20))"
        )
        #expect(
            filter.serverSide?.filter == "tcp and host 10.0.2.1 and host 10.0.2.11 and (not port 21 or port 33000)"
        )
        #expect(filter.expression == "(\(filter.clientSide.filter)) or (\(filter.serverSide!.filter))")
        // Nothing a shell would expand inside single quotes, and no quote to end them.
        #expect(!filter.expression.contains("'"))
    }

    @Test func anAdvertisedAddressOtherThanTheListenersCarriesTheDataConnections() {
        let filter = CaptureFilter(Self.session(listener: "10.0.0.1:2121", advertised: "198.51.100.1"))
        #expect(
            filter.clientSide.filter
                == "tcp and host 192.0.2.7 and ((host 10.0.0.1 and port 2121 and port 50000) or (host 198.51.100.1 and (portrange 40000-40999 or port 20)))"
        )
    }

    @Test func anyActiveSourcePortLetsEveryOtherConnectionOfTheClientThrough() {
        let same = CaptureFilter(Self.session(activeSourcePort: 0))
        #expect(
            same.clientSide.filter
                == "tcp and host 192.0.2.7 and host 10.0.0.1 and ((port 21 and port 50000) or (not port 21))"
        )
        #expect(same.clientSide.comment.contains("active_source_port: 0"))
        let other = CaptureFilter(Self.session(advertised: "198.51.100.1", activeSourcePort: 0))
        #expect(other.clientSide.filter.hasSuffix("or (host 198.51.100.1))"))
    }

    @Test func ipv6AddressesUseIp6HostAndMappedIPv4IsPlainIPv4() {
        let filter = CaptureFilter(
            Self.session(
                client: "[2001:DB8::7]:50000",
                listener: "[2001:db8::1]:21",
                advertised: "2001:db8::1",
                serverSideLocal: "[::ffff:10.0.2.1]:33000",
                server: "[fe80::11%eth0]:21"
            )
        )
        #expect(filter.clientSide.filter.hasPrefix("tcp and ip6 host 2001:db8::7 and ip6 host 2001:db8::1 and (("))
        #expect(
            filter.serverSide?.filter == "tcp and host 10.0.2.1 and ip6 host fe80::11 and (not port 21 or port 33000)"
        )
        #expect(filter.clientSide.comment.contains("[2001:db8::7]:50000 <-> [2001:db8::1]:21"))
    }

    @Test func transparentModeCapturesTheClientsAddressTowardsTheServer() {
        let filter = CaptureFilter(
            Self.session(mode: "transparent", serverSideLocal: "192.0.2.7:50000", server: "10.0.2.11:21")
        )
        #expect(
            filter.serverSide?.filter == "tcp and host 192.0.2.7 and host 10.0.2.11 and (not port 21 or port 50000)"
        )
        #expect(filter.serverSide?.comment.contains("transparent") == true)
    }

    @Test func proxyProtocolChangesNoAddressOnlyTheComment() {
        let plain = CaptureFilter(Self.session())
        let proxied = CaptureFilter(Self.session(mode: "proxy_protocol_v2"))
        #expect(proxied.clientSide == plain.clientSide)
        #expect(proxied.serverSide?.filter == plain.serverSide?.filter)
        #expect(proxied.serverSide?.comment.contains("PROXY header") == true)
    }

    @Test func aSessionWithoutAServerHasOnlyItsClientSide() throws {
        let filter = CaptureFilter(Self.session(serverSideLocal: nil, server: nil))
        #expect(filter.serverSide == nil)
        #expect(filter.expression == filter.clientSide.filter)
        #expect(filter.text.split(separator: "\n").count == 3)
        #expect(try AdminJSON.line(CaptureFilterView(filter, session: 3)).contains(#""server_side":null"#))
    }

    @Test func addressesAreReadAsTheAPIWritesThem() {
        #expect(CaptureFilter.HostPort("192.0.2.1:21") == CaptureFilter.HostPort(host: "192.0.2.1", port: 21))
        #expect(CaptureFilter.HostPort("[2001:db8::1]:21") == CaptureFilter.HostPort(host: "2001:db8::1", port: 21))
        for bad in ["2001:db8::1:21", "192.0.2.1", ":21", "192.0.2.1:x", "192.0.2.1:70000", "?"] {
            #expect(CaptureFilter.HostPort(bad) == nil, "\(bad)")
        }
    }

    /// A session of the sessions view, as the API writes it.
    static func sessionView(
        client: String = "192.0.2.7:50000",
        balancer: String? = "10.0.0.1:21",
        serverSide: ServerSideView? = ServerSideView(balancer: "10.0.2.1:33000", server: "10.0.2.11:21")
    ) -> SessionView {
        SessionView(
            id: 4,
            service: "ftp",
            client: client,
            server: "one",
            serverAddress: "10.0.2.11:21",
            clientSide: ClientSideView(client: client, balancer: balancer),
            serverSide: serverSide,
            user: nil,
            state: "idle",
            lastCommand: nil,
            ageSeconds: 1,
            bytesToClient: 0,
            bytesToServer: 0,
            dataConnections: 0
        )
    }

    /// A virtual service of the services view, as the API writes it.
    static func serviceView(
        passivePorts: String = "40000-40999",
        listeners: [ServiceView.ListenerView] = []
    ) -> ServiceView {
        ServiceView(
            name: "ftp",
            listen: "10.0.0.1:21",
            advertise: "10.0.0.1",
            listeners: listeners,
            dataTransferPolicy: "preserve",
            passivePorts: passivePorts,
            algorithm: "round_robin",
            clientAddress: "none",
            activeSourcePort: 20,
            servers: 1,
            activeSessions: 1
        )
    }

    @Test func theSessionIsReadFromTheSessionsAndServicesViews() throws {
        let service = Self.serviceView()
        #expect(try CaptureFilter.Session(session: Self.sessionView(), service: service) == Self.session())
        #expect(throws: CaptureFilterError.self) {
            try CaptureFilter.Session(session: Self.sessionView(balancer: nil), service: service)
        }
        #expect(throws: CaptureFilterError.self) {
            try CaptureFilter.Session(session: Self.sessionView(), service: Self.serviceView(passivePorts: ""))
        }
    }

    @Test func anIPv6SessionOfADualStackServiceIsCapturedOnTheIPv6AdvertisedAddress() throws {
        let session = Self.sessionView(client: "[2001:db8::7]:50000", balancer: "[2001:db8::10]:21")
        let service = Self.serviceView(listeners: [
            ServiceView.ListenerView(listen: "10.0.0.1:21", advertise: "10.0.0.1"),
            ServiceView.ListenerView(listen: "[::]:21", advertise: "2001:db8::10"),
        ])
        let parsed = try CaptureFilter.Session(session: session, service: service)
        #expect(parsed.advertised == "2001:db8::10")
        let filter = CaptureFilter(parsed).clientSide.filter
        #expect(filter.hasPrefix("tcp and ip6 host 2001:db8::7 and ip6 host 2001:db8::10 and"))
    }
}
