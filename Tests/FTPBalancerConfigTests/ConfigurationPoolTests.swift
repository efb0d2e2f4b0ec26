import Testing

@testable import FTPBalancerConfig

@Suite("Pool settings: algorithms, servers, health checks, limits, per-user routing")
struct ConfigurationPoolTests {
    static let fullFile = """
        log_level: info
        shutdown_grace: 45s
        virtual_services:
          - name: ftp
            listen: 10.0.0.1:21
            passive_ports: 40000-40999
            algorithm: per_user
            unavailable_message: "No FTP server is available; try again later."
            limits:
              max_sessions: 1000
              max_sessions_per_client: 16
            health_check:
              type: ftp_transfer
              interval: 5s
              timeout: 3s
              rise: 2
              fall: 3
              user: probe
              password: s3cret-Pa55
              file: health.txt
              mode: active
              size: 12
            per_user:
              greeting: "Welcome to FTP."
              users:
                alice: ftp-a
                bob: 10.0.2.12:21
            servers:
              - name: ftp-a
                address: 10.0.2.11:21
                weight: 3
                max_sessions: 200
                backup: false
                state: draining
              - 10.0.2.12:21
              - name: ftp-c
                address: 10.0.2.13
                backup: true
                state: disabled
        """

    /// `virtual_services` with one service whose servers are on line 5 and whose `extra`
    /// lines (indented by four spaces) start on line 6.
    static func file(_ extra: String, servers: String = "    servers: [10.0.2.11, 10.0.2.12]") -> String {
        """
        virtual_services:
          - name: ftp
            listen: 10.0.0.1:21
            passive_ports: 40000-40999
        \(servers)
        \(extra)
        """
    }

    /// The error that parsing `yaml` throws; fails the test if it parses.
    func error(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
        #expect(throws: ConfigurationError.self, sourceLocation: sourceLocation) {
            try ConfigurationLoader.parse(yaml: yaml, file: "ftplb.yaml")
        }
    }

    /// The only virtual service of `yaml`.
    func service(_ yaml: String) throws -> VirtualServiceConfiguration {
        try #require(try ConfigurationLoader.parse(yaml: yaml, file: nil).virtualServices.first)
    }

    @Test("A file using every pool key becomes exactly the model it describes.")
    func fullFile() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.fullFile, file: "ftplb.yaml")
        var check = HealthCheckConfiguration()
        check.kind = .ftpTransfer
        check.interval = .seconds(5)
        check.timeout = .seconds(3)
        check.rise = 2
        check.fall = 3
        check.user = "probe"
        check.password = "s3cret-Pa55"
        check.file = "health.txt"
        check.transferMode = .active
        check.expectedSize = 12
        let service = VirtualServiceConfiguration(
            name: "ftp",
            listen: Endpoint(host: "10.0.0.1", port: 21),
            advertisedAddress: "10.0.0.1",
            passivePorts: 40000...40999,
            servers: [
                ServerConfiguration(
                    name: "ftp-a",
                    address: Endpoint(host: "10.0.2.11", port: 21),
                    weight: 3,
                    maxSessions: 200,
                    backup: false,
                    state: .draining
                ),
                ServerConfiguration(name: "10.0.2.12:21", address: Endpoint(host: "10.0.2.12", port: 21)),
                ServerConfiguration(
                    name: "ftp-c",
                    address: Endpoint(host: "10.0.2.13", port: 21),
                    backup: true,
                    state: .disabled
                ),
            ],
            algorithm: .perUser,
            userRouting: UserRoutingConfiguration(
                greeting: "Welcome to FTP.",
                users: ["alice": "ftp-a", "bob": "10.0.2.12:21"]
            ),
            healthCheck: check,
            limits: SessionLimitConfiguration(maxSessions: 1000, maxSessionsPerClient: 16),
            unavailableMessage: "No FTP server is available; try again later."
        )
        #expect(
            configuration
                == BalancerConfiguration(logLevel: .info, virtualServices: [service], shutdownGrace: .seconds(45))
        )
    }

    @Test("Leaving out every pool key gives the model's defaults.")
    func defaults() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.file(""), file: nil)
        #expect(configuration.shutdownGrace == .seconds(30))
        let service = try #require(configuration.virtualServices.first)
        #expect(service.algorithm == .roundRobin)
        #expect(service.userRouting == UserRoutingConfiguration())
        #expect(service.healthCheck == HealthCheckConfiguration())
        #expect(service.healthCheck.kind == .ftp)
        #expect(service.limits == SessionLimitConfiguration())
        #expect(service.unavailableMessage == VirtualServiceConfiguration.defaultUnavailableMessage)
        for server in service.servers {
            #expect(server.weight == 1 && server.maxSessions == nil && !server.backup && server.state == .enabled)
        }
    }

    @Test("A server mapping with only some options keeps the defaults of the others.")
    func partialServerOptions() throws {
        let service = try self.service(Self.file("", servers: "    servers: [{address: 10.0.2.11, weight: 2}]"))
        #expect(
            service.servers == [
                ServerConfiguration(name: "10.0.2.11", address: Endpoint(host: "10.0.2.11", port: 21), weight: 2)
            ]
        )
    }

    @Test("Every algorithm word is accepted, and per_user without a per_user section routes every user by hash.")
    func everyAlgorithm() throws {
        for algorithm in BalancingAlgorithm.allCases {
            let service = try self.service(Self.file("    algorithm: \(algorithm.rawValue)"))
            #expect(service.algorithm == algorithm)
            #expect(service.userRouting == UserRoutingConfiguration())
        }
    }

    @Test("client_address takes none, both PROXY protocol versions and transparent, defaults to none, and names other words.")
    func clientAddress() throws {
        #expect(try self.service(Self.file("")).clientAddress == ClientAddressMode.none)
        for mode in ClientAddressMode.allCases {
            #expect(try self.service(Self.file("    client_address: \(mode.rawValue)")).clientAddress == mode)
        }
        let error = self.error(Self.file("    client_address: proxy_v3"))
        #expect(error?.path == "virtual_services[0].client_address")
        #expect(error?.message == "expected one of none, proxy_protocol_v1, proxy_protocol_v2, transparent; found 'proxy_v3'")
    }

    @Test("The transparent section takes a mark in hex or decimal and a routing table Linux does not use itself.")
    func transparentSection() throws {
        let defaults = try ConfigurationLoader.parse(yaml: Self.file("    client_address: transparent"), file: nil)
        #expect(defaults.transparent == TransparentConfiguration(fwmark: 0x1, routeTable: 100))
        #expect(defaults.transparentServices.map(\.name) == ["ftp"])
        #expect(defaults.summary.contains("transparent mode: fwmark 0x1, route table 100"))
        #expect(defaults.summary.contains("client address:     transparent"))

        let hex = try ConfigurationLoader.parse(yaml: "transparent:\n  fwmark: 0x4000\n  route_table: 4242\n" + Self.file(""), file: nil)
        #expect(hex.transparent == TransparentConfiguration(fwmark: 0x4000, routeTable: 4242))
        #expect(hex.transparentServices.isEmpty)
        #expect(!hex.summary.contains("transparent mode"))
        let decimal = try ConfigurationLoader.parse(yaml: "transparent: {fwmark: 4294967295}\n" + Self.file(""), file: nil)
        #expect(decimal.transparent.fwmark == 4_294_967_295)

        for bad in ["0", "0x0", "0x123456789", "-1", "mark"] {
            let error = self.error("transparent:\n  fwmark: \(bad)\n" + Self.file(""))
            #expect(error?.path == "transparent.fwmark")
            #expect(error?.line == 2)
        }
        for reserved in ["0", "253", "254", "255", "main"] {
            let error = self.error("transparent:\n  route_table: \(reserved)\n" + Self.file(""))
            #expect(error?.path == "transparent.route_table")
            #expect(error?.message.contains("other than 253, 254 and 255") == true)
        }
        let unknown = self.error("transparent:\n  mark: 1\n" + Self.file(""))
        #expect(unknown?.message == "unknown key 'mark'; allowed keys: fwmark, route_table")
    }

    @Test("A shutdown grace of zero is allowed; a negative or malformed one names the key.")
    func shutdownGrace() throws {
        let zero = try ConfigurationLoader.parse(yaml: "shutdown_grace: 0s\n" + Self.file(""), file: nil)
        #expect(zero.shutdownGrace == .zero)
        let error = self.error("shutdown_grace: -1s\n" + Self.file(""))
        #expect(error?.line == 1)
        #expect(error?.path == "shutdown_grace")
        #expect(
            error?.message
                == "expected a duration: a number of seconds, or a number followed by ms, s, m or h, "
                + "such as 0s, 30s or 5m; found '-1s'"
        )
    }

    @Test("Each enumerated key lists the words it accepts.")
    func enumerations() {
        let algorithm = self.error(Self.file("    algorithm: fastest"))
        #expect(algorithm?.line == 6)
        #expect(algorithm?.path == "virtual_services[0].algorithm")
        #expect(
            algorithm?.message
                == "expected one of round_robin, weighted_round_robin, least_connections, source_ip_hash, "
                + "least_response_time, per_user; found 'fastest'"
        )
        let type = self.error(Self.file("    health_check:\n      type: http"))
        #expect(type?.line == 7)
        #expect(type?.path == "virtual_services[0].health_check.type")
        #expect(type?.message == "expected one of none, tcp, ftp, ftp_login, ftp_transfer; found 'http'")
        let mode = self.error(
            Self.file("    health_check: {type: ftp_transfer, user: u, password: p, file: f, mode: pasv}")
        )
        #expect(mode?.line == 6)
        #expect(mode?.path == "virtual_services[0].health_check.mode")
        #expect(mode?.message == "expected one of passive, active; found 'pasv'")
        let state = self.error(Self.file("", servers: "    servers:\n      - {address: 10.0.2.11, state: drain}"))
        #expect(state?.line == 6)
        #expect(state?.path == "virtual_services[0].servers[0].state")
        #expect(state?.message == "expected one of enabled, draining, disabled; found 'drain'")
    }

    @Test("Server weight, server session limit and backup flag are checked with their ranges.")
    func serverNumbers() {
        func serverError(_ options: String) -> ConfigurationError? {
            self.error(Self.file("", servers: "    servers:\n      - address: 10.0.2.11\n        \(options)"))
        }
        let weight = serverError("weight: 1001")
        #expect(weight?.line == 7)
        #expect(weight?.path == "virtual_services[0].servers[0].weight")
        #expect(weight?.message == "expected a whole number from 1 to 1000; found '1001'")
        #expect(serverError("weight: 0")?.message == "expected a whole number from 1 to 1000; found '0'")
        let maxSessions = serverError("max_sessions: 0")
        #expect(maxSessions?.path == "virtual_services[0].servers[0].max_sessions")
        #expect(maxSessions?.message == "expected a whole number of at least 1; found '0'")
        #expect(
            serverError("max_sessions: 10000000000")?.message
                == "expected a whole number of at least 1 and at most 999999999; found '10000000000'"
        )
        let backup = serverError("backup: yes")
        #expect(backup?.line == 7)
        #expect(backup?.path == "virtual_services[0].servers[0].backup")
        #expect(backup?.message == "expected true or false (yes, no, on and off are not accepted); found 'yes'")
    }

    @Test("Service limits must be at least one session.")
    func limits() {
        let total = self.error(Self.file("    limits:\n      max_sessions: 0"))
        #expect(total?.line == 7)
        #expect(total?.path == "virtual_services[0].limits.max_sessions")
        #expect(total?.message == "expected a whole number of at least 1; found '0'")
        let perClient = self.error(Self.file("    limits:\n      max_sessions_per_client: -1"))
        #expect(perClient?.path == "virtual_services[0].limits.max_sessions_per_client")
        #expect(perClient?.message == "expected a whole number of at least 1; found '-1'")
        let unknown = self.error(Self.file("    limits:\n      sessions: 5"))
        #expect(unknown?.code == .unknownKey)
        #expect(unknown?.message == "unknown key 'sessions'; allowed keys: max_sessions, max_sessions_per_client, max_unauthenticated_per_client")
    }

    @Test("Rise, fall and the expected size are whole numbers in their ranges.")
    func healthCheckNumbers() {
        let rise = self.error(Self.file("    health_check:\n      rise: 0"))
        #expect(rise?.line == 7)
        #expect(rise?.path == "virtual_services[0].health_check.rise")
        #expect(rise?.message == "expected a whole number from 1 to 100; found '0'")
        let fall = self.error(Self.file("    health_check:\n      fall: 101"))
        #expect(fall?.path == "virtual_services[0].health_check.fall")
        #expect(fall?.message == "expected a whole number from 1 to 100; found '101'")
        let size = self.error(
            Self.file("    health_check: {type: ftp_transfer, user: u, password: p, file: f, size: -1}")
        )
        #expect(size?.path == "virtual_services[0].health_check.size")
        #expect(size?.message == "expected a whole number of at least 0; found '-1'")
    }

    @Test("The interval is at least 100ms, and the timeout is above zero and no longer than the interval.")
    func healthCheckTiming() {
        let interval = self.error(Self.file("    health_check:\n      interval: 50ms\n      timeout: 10ms"))
        #expect(interval?.line == 7)
        #expect(interval?.path == "virtual_services[0].health_check.interval")
        #expect(interval?.message == "expected at least 100ms between two checks of a server; found '50ms'")
        let zero = self.error(Self.file("    health_check:\n      timeout: 0s"))
        #expect(zero?.path == "virtual_services[0].health_check.timeout")
        #expect(zero?.message.hasPrefix("expected a duration greater than zero") == true)
        let longer = self.error(Self.file("    health_check:\n      interval: 2s\n      timeout: 5s"))
        #expect(longer?.line == 8)
        #expect(longer?.path == "virtual_services[0].health_check.timeout")
        #expect(
            longer?.message
                == "timeout 5s is longer than interval 2s; expected at most the interval, "
                + "so that checks of one server never overlap"
        )
        let defaultTimeout = self.error(Self.file("    health_check:\n      interval: 1s"))
        #expect(defaultTimeout?.line == 7)
        #expect(defaultTimeout?.path == "virtual_services[0].health_check.interval")
        #expect(
            defaultTimeout?.message
                == "interval 1s is shorter than the default timeout 3s; set timeout to at most the interval, "
                + "so that checks of one server never overlap"
        )
    }

    @Test("A timeout equal to the interval is accepted.")
    func timeoutEqualToInterval() throws {
        let service = try self.service(Self.file("    health_check: {interval: 500ms, timeout: 0.5s}"))
        #expect(service.healthCheck.interval == .milliseconds(500))
        #expect(service.healthCheck.timeout == .milliseconds(500))
    }

    @Test("With type none, a short interval is not held against the default timeout.")
    func noChecksIgnoreTiming() throws {
        let service = try self.service(Self.file("    health_check: {type: none, interval: 1s}"))
        #expect(service.healthCheck.kind == HealthCheckKind.none)
    }

    @Test("Checks that log in need user and password, and a transfer check needs a file.")
    func healthCheckRequiredKeys() {
        let password = self.error(Self.file("    health_check:\n      type: ftp_login\n      user: probe"))
        #expect(password?.code == .missingKey)
        #expect(password?.line == 7)
        #expect(password?.path == "virtual_services[0].health_check.password")
        #expect(password?.message == "missing key 'password': health check type ftp_login needs user and password")
        let file = self.error(
            Self.file("    health_check:\n      type: ftp_transfer\n      user: probe\n      password: x")
        )
        #expect(file?.code == .missingKey)
        #expect(file?.path == "virtual_services[0].health_check.file")
        #expect(file?.message == "missing key 'file': health check type ftp_transfer needs user, password and file")
    }

    @Test("A key the check type does not use is refused, naming the types that use it.")
    func healthCheckUnusedKeys() {
        let user = self.error(Self.file("    health_check:\n      type: ftp\n      user: probe\n      password: x"))
        #expect(user?.line == 8)
        #expect(user?.path == "virtual_services[0].health_check.user")
        #expect(
            user?.message
                == "'user' is used only by health check types ftp_login and ftp_transfer, not by type ftp; "
                + "remove it or correct the type"
        )
        let size = self.error(
            Self.file("    health_check: {type: ftp_login, user: u, password: p, size: 12}")
        )
        #expect(size?.path == "virtual_services[0].health_check.size")
        #expect(
            size?.message
                == "'size' is used only by health check type ftp_transfer, not by type ftp_login; "
                + "remove it or correct the type"
        )
        let defaultType = self.error(Self.file("    health_check:\n      mode: active"))
        #expect(defaultType?.message.hasSuffix("not by type ftp; remove it or correct the type") == true)
    }

    @Test("A password with a control character is refused without being repeated.")
    func passwordNotEchoed() {
        let error = self.error(
            Self.file("    health_check: {type: ftp_login, user: probe, password: \"pw\\tXYZZY\"}")
        )
        #expect(error?.path == "virtual_services[0].health_check.password")
        #expect(
            error?.message
                == "expected text without control characters; character 3 is a control character (U+0009), "
                + "which would break the FTP command"
        )
        #expect(error?.description.contains("XYZZY") == false)
    }

    @Test("A per_user section needs algorithm per_user, whether the algorithm is written or defaulted.")
    func perUserWithoutAlgorithm() {
        let defaulted = self.error(Self.file("    per_user:\n      greeting: Hello."))
        #expect(defaulted?.line == 6)
        #expect(defaulted?.path == "virtual_services[0].per_user")
        #expect(
            defaulted?.message
                == "per_user is used only with algorithm: per_user, but the algorithm is round_robin (the default); "
                + "set algorithm: per_user or remove per_user"
        )
        let written = self.error(Self.file("    algorithm: least_connections\n    per_user: {}"))
        #expect(written?.line == 7)
        #expect(
            written?.message
                == "per_user is used only with algorithm: per_user, but virtual_services[0].algorithm (line 6) "
                + "is least_connections; set algorithm: per_user or remove per_user"
        )
    }

    @Test("Users map to servers of the pool by name, or by the address as written when a server has none.")
    func perUserServers() throws {
        let servers = "    servers:\n      - {name: ftp-a, address: 10.0.2.11}\n      - 10.0.2.12"
        let service = try self.service(
            Self.file(
                "    algorithm: per_user\n    per_user:\n      users: {alice: ftp-a, bob: 10.0.2.12}",
                servers: servers
            )
        )
        #expect(service.userRouting.users == ["alice": "ftp-a", "bob": "10.0.2.12"])
        let unknown = self.error(
            Self.file(
                "    algorithm: per_user\n    per_user:\n      users:\n        alice: ftp-a\n        bob: 10.0.2.11",
                servers: servers
            )
        )
        #expect(unknown?.line == 12)
        #expect(unknown?.path == "virtual_services[0].per_user.users.bob")
        #expect(
            unknown?.message
                == "user 'bob' is mapped to '10.0.2.11', which is not a server of this pool; "
                + "expected one of ftp-a, 10.0.2.12"
        )
    }

    @Test("A user name with a space, or an empty one, is refused at its key.")
    func perUserNames() {
        let space = self.error(
            Self.file("    algorithm: per_user\n    per_user:\n      users:\n        \"al ice\": 10.0.2.11")
        )
        #expect(space?.line == 9)
        #expect(space?.path == "virtual_services[0].per_user.users.al ice")
        #expect(space?.message == "expected a user name without spaces or control characters; found 'al ice'")
        let empty = self.error(Self.file("    algorithm: per_user\n    per_user: {users: {\"\": 10.0.2.11}}"))
        #expect(empty?.message == "expected a user name without spaces or control characters; found ''")
    }

    @Test("The greeting and the unavailable message are one non-empty printable line of at most 200 characters.")
    func replyTexts() {
        let expected = "expected one line of printable text of 1 to 200 characters"
        let newline = self.error(Self.file("    unavailable_message: \"Try\\nlater\""))
        #expect(newline?.line == 6)
        #expect(newline?.path == "virtual_services[0].unavailable_message")
        #expect(
            newline?.message
                == "\(expected); character 4 is a control character (U+000A), which would break the reply"
        )
        let empty = self.error(Self.file("    unavailable_message: ''"))
        #expect(empty?.message == "\(expected); found an empty text")
        let long = self.error(
            Self.file("    algorithm: per_user\n    per_user:\n      greeting: \(String(repeating: "x", count: 201))")
        )
        #expect(long?.line == 8)
        #expect(long?.path == "virtual_services[0].per_user.greeting")
        #expect(long?.message == "\(expected); found 201 characters")
        // A literal block keeps its line break: easy to write by mistake, and a broken reply.
        let block = self.error(
            Self.file("    algorithm: per_user\n    per_user:\n      greeting: |\n        Hello\n      users: {}")
        )
        #expect(block?.message.hasSuffix("is a control character (U+000A), which would break the reply") == true)
    }

    @Test("A pool of backups alone is refused at its servers key.")
    func onlyBackups() {
        let error = self.error(
            Self.file(
                "",
                servers:
                    "    servers:\n      - {address: 10.0.2.11, backup: true}\n      - {address: 10.0.2.12, backup: true}"
            )
        )
        #expect(error?.line == 5)
        #expect(error?.path == "virtual_services[0].servers")
        #expect(
            error?.message
                == "every server of the pool is a backup; at least one must be a primary server (backup: false), "
                + "because backups take sessions only while no primary server is up"
        )
    }

    @Test("Unknown keys in the new sections list the allowed keys.")
    func unknownKeys() {
        let check = self.error(Self.file("    health_check:\n      retries: 3"))
        #expect(check?.code == .unknownKey)
        #expect(check?.line == 7)
        #expect(
            check?.message
                == "unknown key 'retries'; allowed keys: type, interval, timeout, rise, fall, user, password, file, "
                + "mode, size"
        )
        let server = self.error(Self.file("", servers: "    servers:\n      - {address: 10.0.2.11, weigth: 2}"))
        #expect(
            server?.message == "unknown key 'weigth'; allowed keys: name, address, weight, max_sessions, backup, state"
        )
    }

    @Test("The summary shows every pool setting, with the health check's password only as (set).")
    func summary() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.fullFile, file: nil)
        #expect(
            configuration.summary.split(separator: "\n").map(String.init) == [
                "log level: info",
                "shutdown grace: 45s",
                "upgrade drain: 600s",
                "admin API: 127.0.0.1:9021, token none (loopback only)",
                "data path: splice, 1MiB pipe per direction, 1 relay thread",
                "virtual service 'ftp'",
                "  listen:             10.0.0.1:21",
                "  advertise:          10.0.0.1",
                "  passive ports:      40000-40999 (1000 ports)",
                "  source address:     chosen by the kernel",
                "  active source port: 20",
                "  client address:     not passed on (servers see the balancer)",
                "  algorithm:          per_user",
                "  greeting:           220 Welcome to FTP.",
                "  user:               alice -> ftp-a",
                "  user:               bob -> 10.0.2.12:21",
                "  other users:        placed by a consistent hash of the user name",
                "  server:             ftp-a (10.0.2.11:21) weight 3, max 200 sessions, draining",
                "  server:             10.0.2.12:21",
                "  server:             ftp-c (10.0.2.13:21) backup, disabled",
                "  health check:       ftp_transfer, interval 5s, timeout 3s, rise 2, fall 3",
                "  check login:        user probe, password: (set)",
                "  check transfer:     file health.txt, active mode, size 12 bytes",
                "  limits:             max 1000 sessions, max 16 per client address",
                "  unavailable reply:  421 No FTP server is available; try again later.",
                "  timeouts:           server_connect 5s, passive_accept 30s, active_connect 30s, "
                    + "control_idle 600s, data_idle 300s, server_greeting 10s, login 60s, server_reply 60s",
            ]
        )
        #expect(!configuration.summary.contains("s3cret-Pa55"))
    }

    @Test("The summary of defaults says unlimited, the default check and no per-user lines.")
    func summaryDefaults() throws {
        let configuration = try ConfigurationLoader.parse(yaml: Self.file(""), file: nil)
        let lines = configuration.summary.split(separator: "\n").map(String.init)
        #expect(lines.contains("shutdown grace: 30s"))
        #expect(lines.contains("  algorithm:          round_robin"))
        #expect(lines.contains("  health check:       ftp, interval 5s, timeout 3s, rise 2, fall 3"))
        #expect(lines.contains("  limits:             unlimited"))
        #expect(lines.contains("  unavailable reply:  421 Service not available: no FTP server is reachable."))
        #expect(!lines.contains { $0.hasPrefix("  greeting:") || $0.hasPrefix("  check login:") })
        let none = try ConfigurationLoader.parse(yaml: Self.file("    health_check: {type: none}"), file: nil)
        #expect(none.summary.contains("  health check:       none (every enabled server counts as up)\n"))
    }

    @Test("The quick form takes --algorithm and --health-check, and refuses checks that need credentials.")
    func quickForm() throws {
        func quick(algorithm: String?, healthCheck: String?) throws(ConfigurationError) -> BalancerConfiguration {
            try ConfigurationLoader.quick(
                listen: "10.0.0.1:21",
                servers: ["10.0.2.11"],
                passivePorts: "40000-40999",
                advertise: nil,
                sourceAddress: nil,
                activeSourcePort: nil,
                logLevel: nil,
                algorithm: algorithm,
                healthCheck: healthCheck
            )
        }
        let defaults = try #require(try quick(algorithm: nil, healthCheck: nil).virtualServices.first)
        #expect(defaults.algorithm == .roundRobin)
        #expect(defaults.healthCheck == HealthCheckConfiguration())
        let perUser = try #require(try quick(algorithm: "per_user", healthCheck: "tcp").virtualServices.first)
        #expect(perUser.algorithm == .perUser)
        #expect(perUser.userRouting == UserRoutingConfiguration())
        #expect(perUser.healthCheck.kind == .tcp)
        let algorithm = #expect(throws: ConfigurationError.self) {
            try quick(algorithm: "random", healthCheck: nil)
        }
        #expect(
            algorithm?.description
                == "--algorithm: expected one of round_robin, weighted_round_robin, least_connections, "
                + "source_ip_hash, least_response_time, per_user; found 'random'"
        )
        let login = #expect(throws: ConfigurationError.self) {
            try quick(algorithm: nil, healthCheck: "ftp_login")
        }
        #expect(
            login?.description
                == "--health-check: expected one of none, tcp, ftp; found 'ftp_login' "
                + "(ftp_login and ftp_transfer need a user and password, which only a configuration file can give)"
        )
    }
}
