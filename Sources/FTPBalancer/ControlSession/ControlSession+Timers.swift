import NIOCore

extension ControlSession {
    /// The session's scheduled timers, one of each kind at most.
    struct Timers {
        private var idle: Scheduled<Void>?
        private var greeting: Scheduled<Void>?
        private var login: Scheduled<Void>?
        private var reply: Scheduled<Void>?

        subscript(_ timer: StateMachine.Timer) -> Scheduled<Void>? {
            get {
                switch timer {
                case .idle: self.idle
                case .greeting: self.greeting
                case .login: self.login
                case .reply: self.reply
                }
            }
            set {
                switch timer {
                case .idle: self.idle = newValue
                case .greeting: self.greeting = newValue
                case .login: self.login = newValue
                case .reply: self.reply = newValue
                }
            }
        }

        /// Cancels `timer`: what it would check is settled.
        mutating func cancel(_ timer: StateMachine.Timer) {
            self[timer]?.cancel()
            self[timer] = nil
        }

        mutating func cancelAll() {
            for timer in [StateMachine.Timer.idle, .greeting, .login, .reply] {
                self.cancel(timer)
            }
        }
    }

    /// Schedules `timer`, replacing one of its kind; the machine decides what its firing means.
    func schedule(_ timer: StateMachine.Timer, after delay: TimeAmount) {
        self.timers[timer]?.cancel()
        self.timers[timer] = self.clientChannel.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.timers[timer] = nil
            self.perform(self.machine.timerFired(timer, now: .now()))
        }
    }
}
