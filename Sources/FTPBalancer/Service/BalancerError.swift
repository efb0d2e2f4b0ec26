/// Why the balancer cannot start, said so that the operator knows what to change.
package struct BalancerError: Error, Sendable, CustomStringConvertible {
    package enum Code: Sendable {
        case listenFailed
        case activeSourcePortUnavailable
        case transparentSetupMissing
        case transferLogUnavailable
        /// A service's certificate or key cannot be used.
        case tlsUnavailable
        /// An upgrade's old process: the new one serves the listeners and takes reloads.
        case handedOver
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { self.message }
}
