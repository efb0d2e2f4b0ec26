import FTPProtocol
import NIOCore

extension ControlSession.StateMachine {
    typealias Rules = ControlSessionStateMachine

    /// The session's first actions: the idle and reply checks, then a greeting or a connect.
    func start() -> [Action] {
        let timers: [Action] = [
            .scheduleTimer(.idle, after: self.configuration.controlIdle),
            .scheduleTimer(.login, after: self.configuration.login),
            .scheduleTimer(.reply, after: self.configuration.serverReply),
        ]
        if let greeting = self.configuration.greetingBeforeUser {
            return timers + [.reply("220 \(greeting)")]
        }
        return timers + [.connectToServer(user: nil)]
    }

    struct Connecting {
        var clientLines = CircularBuffer<ControlLine>()
        /// `per_user`: the user the pool places the session by.
        var user: String?
        /// The client's TLS, which may have begun before USER (`per_user`).
        var security: ControlChannelSecurity
    }

    struct Closing {
        var clientOpen: Bool
        var serverOpen: Bool
    }

    /// What the session machine needs to know of the service, fixed for the session's life.
    struct Configuration: Equatable {
        /// `per_user` or `greeting`: the balancer's own greeting; nil when the session connects at once.
        var greetingBeforeUser: String?
        /// `timeouts.control_idle`.
        var controlIdle: TimeAmount
        /// `timeouts.server_greeting`: from the server's TCP connect to the end of its greeting.
        var serverGreeting: TimeAmount
        /// `timeouts.login`: from the client's connect to a 230.
        var login: TimeAmount
        /// `timeouts.server_reply`: a server owing a reply to a command (not a transfer's) with
        /// nothing happening on the session.
        var serverReply: TimeAmount
        /// What the service's `tls:` offers, as the session starts.
        var security = ControlChannelSecurity(offer: .none)
    }

    /// The session's timers; each fires `timerFired` once.
    enum Timer: Equatable {
        case idle, greeting, login, reply
    }

    /// What the driver does for an event, in order. Every action names an effect the session can
    /// see: a write, a connect, a listener, a close, or a note for its logs and counters.
    enum Action: Equatable {
        // The server connection.
        /// Ask the pool for a server not tried yet and connect to it; `user` places a `per_user`
        /// session.
        case connectToServer(user: String?)
        /// A connection that completed after the session stopped wanting it: release and close.
        case abandonServer
        /// The server's greeting has ended: it counts as reached for the pool's health.
        case serverGreeted
        /// The server will not do, before its greeting: it counts as a failed connect; close it.
        case dropServer(ServerLeaving)
        /// `server_tls`: the AUTH TLS reply was a 234; TLS begins on the server connection.
        case startServerTLS
        /// `server_tls`: the server refused the balancer's `command`: a failed connect, and the
        /// session ends with a 421.
        case serverSecuringRefused(command: String, reply: String)
        /// `protection: client`: the server refused the client's new level; it keeps its own.
        case serverProtectionRefused(command: String, reply: String)
        /// The client has logged in (a 230): it no longer counts against the pre-login limits.
        case loggedIn
        /// The server owes a reply and said nothing for `server_reply`: it counts as a failed
        /// connect for the pool's health.
        case serverUnresponsive

        // Client commands.
        /// A command is handled now: counted in the summary and logged.
        case command(FTPCommand)
        /// A command line over the length limit: logged, then answered.
        case commandTooLong
        /// The balancer refused the command itself: counted and logged, then answered.
        case refused(FTPCommand, Rules.Refusal)
        /// Relay the command; `repliesAhead` replies were still due for earlier ones.
        case relayCommand(FTPCommand, rewritten: Bool, repliesAhead: Int)
        /// Send the server a command of the balancer's own (PORT/EPRT for its listener).
        case sendServer(FTPCommand)
        /// The server refused EPSV: send this (PASV) instead; `refusal` is its reply.
        case resendToServer(FTPCommand, refusal: ByteBuffer)

        // Server replies.
        /// A server reply line is handled now; `answersCommand` when it completed a command.
        case serverReply(ByteBuffer, answersCommand: Bool)
        /// A server reply line over the length limit, relayed cut short.
        case serverReplyTooLong
        /// Relay a server line; `rewritten` when the balancer changed it.
        case relayReply(ByteBuffer, rewritten: Bool)
        /// A server line the client must not see (counted as rewritten).
        case dropReply
        /// The server's reply was unusable: send this instead, and log why.
        case replaceReply(String, FTPProtocolError)
        /// A reply of the balancer's own.
        case reply(String)
        /// A reply the balancer writes in place of the server's (its passive address).
        case rewrittenReply(String)

        // The client's TLS.
        /// The 234 to AUTH is out: begin TLS on the client connection, with what it sent after AUTH.
        case startClientTLS
        /// AUTH was answered without TLS: the client's bytes after it are lines again.
        case resumeClientLines

        // Data connections.
        case openPassive(Rules.PassiveRequest)
        case openActive(Rules.ActiveRequest)
        case openTranslatedPassive(Rules.TranslatedPassiveRequest)
        case openTranslatedActive(Rules.ActiveRequest, Rules.PassiveRequest)
        /// Keep the listener that just opened, in this slot.
        case useListener(ListenerSlot)
        /// Close the listener that just opened: the session no longer wants it.
        case discardListener
        case closeListeners

        // Ending.
        /// Send `reply` if any, then close the client after it, the server and the listeners.
        case end(reply: String?, reason: SessionSummary.Ending)
        case closeServer
        case closeClientAfterFlush
        case scheduleTimer(Timer, after: TimeAmount)
        /// Both control connections and every data connection are done: log the session line,
        /// give back the lease, leave the session table.
        case finish
    }

    /// Why a server is left before its greeting, for the next one.
    enum ServerLeaving: Equatable {
        case noGreeting, closedBeforeGreeting
    }

    /// Where a listener of the session is kept: a new one of a kind replaces the old.
    enum ListenerSlot: Equatable {
        case passive, active
    }

    /// Why a data listener (or a translated data connection) could not be prepared.
    enum DataListenerFailure: Equatable {
        /// The control connection's addresses could not be used: nothing was tried.
        case cannotStart
        /// The balancer could not connect to the address and port the client named.
        case clientUnreachable
        /// Anything else: no passive port left, a bind or a connect to the server failed.
        case failed
    }

    /// The data listener a session waits for, and what its readiness means.
    enum DataListenerWait: Equatable {
        case passive(Rules.PassiveRequest)
        case active(Rules.ActiveRequest)
        case translatedPassive(Rules.TranslatedPassiveRequest)
        case translatedActive(Rules.ActiveRequest)

        /// The reply the client gets when the listener could not be prepared.
        func reply(for failure: DataListenerFailure) -> String {
            switch (failure, self) {
            case (.cannotStart, _): BalancerReply.cannotOpenDataConnection
            case (.clientUnreachable, _): BalancerReply.clientUnreachable
            case (.failed, .passive), (.failed, .translatedPassive): BalancerReply.noPassivePort
            case (.failed, .active), (.failed, .translatedActive): BalancerReply.cannotOpenDataConnection
            }
        }
    }
}

extension ControlSession.StateMachine {
    /// A data listener that opened, with what the other side needs to reach it.
    enum ReadyListener: Equatable {
        /// The client's passive listener, on `port` of the advertised address.
        case passive(port: Int)
        /// The listener for the server's active-mode connection, at `host`:`port`.
        case active(host: String, port: Int)
        /// The client's passive listener on `clientPort`, and the server's at `host`:`serverPort`.
        case translatedPassive(clientPort: Int, host: String, serverPort: Int)
        /// Both connections of a translated active-mode transfer are made.
        case translatedActive
    }
}
