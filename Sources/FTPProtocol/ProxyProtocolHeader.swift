import NIOCore

/// The PROXY protocol header (HAProxy's "PROXY protocol" specification, versions 1 and 2) that
/// opens an upstream connection and tells the server who the client really is. Sent once, at
/// the start of a control connection, never on a data connection, where it would become part
/// of the file.
package enum ProxyProtocolHeader {
    package enum Version: Equatable, Sendable {
        case v1, v2
    }

    /// The 12 bytes every version 2 header starts with.
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// A header for a proxied TCP connection from `client` to `destination` (the address the
    /// client connected to). Addresses of different families, or not IP, give the header for
    /// an unknown origin, which receivers accept and treat as a local connection.
    package static func write(
        _ version: Version,
        client: SocketAddress,
        destination: SocketAddress,
        into buffer: inout ByteBuffer
    ) {
        switch (version, Self.endpoints(client, destination)) {
        case (.v1, .some(let endpoints)):
            let family = endpoints.isIPv6 ? "TCP6" : "TCP4"
            buffer.writeString(
                "PROXY \(family) \(endpoints.clientHost) \(endpoints.destinationHost) "
                    + "\(endpoints.clientPort) \(endpoints.destinationPort)\r\n"
            )
        case (.v2, .some(let endpoints)):
            buffer.writeBytes(Self.v2Signature)
            // Version 2, command PROXY; TCP over IPv4 (0x11) or IPv6 (0x21).
            buffer.writeInteger(UInt8(0x21))
            buffer.writeInteger(UInt8(endpoints.isIPv6 ? 0x21 : 0x11))
            let addressBytes = endpoints.clientBytes + endpoints.destinationBytes
            buffer.writeInteger(UInt16(addressBytes.count + 4))
            buffer.writeBytes(addressBytes)
            buffer.writeInteger(UInt16(endpoints.clientPort))
            buffer.writeInteger(UInt16(endpoints.destinationPort))
        case (_, .none):
            Self.writeLocal(version, into: &buffer)
        }
    }

    /// A header that says the connection is the balancer's own (a health check), not a
    /// client's: `PROXY UNKNOWN` in version 1, the LOCAL command in version 2.
    package static func writeLocal(_ version: Version, into buffer: inout ByteBuffer) {
        switch version {
        case .v1:
            buffer.writeString("PROXY UNKNOWN\r\n")
        case .v2:
            buffer.writeBytes(Self.v2Signature)
            buffer.writeInteger(UInt8(0x20))
            buffer.writeInteger(UInt8(0x00))
            buffer.writeInteger(UInt16(0))
        }
    }

    private struct Endpoints {
        var isIPv6: Bool
        var clientHost: String
        var clientPort: Int
        var clientBytes: [UInt8]
        var destinationHost: String
        var destinationPort: Int
        var destinationBytes: [UInt8]
    }

    /// Both addresses in one family; an IPv4 client on a dual-stack listener (::ffff:a.b.c.d)
    /// counts as IPv4, as servers log it.
    private static func endpoints(_ client: SocketAddress, _ destination: SocketAddress) -> Endpoints? {
        guard let client = Self.ipEndpoint(client), let destination = Self.ipEndpoint(destination) else { return nil }
        if client.bytes.count == destination.bytes.count {
            return Endpoints(
                isIPv6: client.bytes.count == 16,
                clientHost: client.host,
                clientPort: client.port,
                clientBytes: client.bytes,
                destinationHost: destination.host,
                destinationPort: destination.port,
                destinationBytes: destination.bytes
            )
        }
        return nil
    }

    /// An IPv4-mapped address goes as IPv4, as the kernel would have sent it from a v4 socket.
    private static func ipEndpoint(_ address: SocketAddress) -> (host: String, port: Int, bytes: [UInt8])? {
        guard let port = address.port, let ip = IPAddress(address)?.unmapped else { return nil }
        return (ip.text, port, ip.bytes)
    }
}
