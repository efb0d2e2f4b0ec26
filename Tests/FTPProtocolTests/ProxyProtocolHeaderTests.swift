import FTPProtocol
import NIOCore
import Testing

private func header(_ version: ProxyProtocolHeader.Version, _ client: SocketAddress, _ destination: SocketAddress) -> [UInt8] {
    var buffer = ByteBuffer()
    ProxyProtocolHeader.write(version, client: client, destination: destination, into: &buffer)
    return Array(buffer.readableBytesView)
}

private let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

@Suite struct ProxyProtocolHeaderTests {
    @Test func versionOneNamesTheClientThenTheAddressItConnectedTo() throws {
        let bytes = header(
            .v1,
            try SocketAddress(ipAddress: "192.0.2.7", port: 34334),
            try SocketAddress(ipAddress: "10.0.0.1", port: 21)
        )
        #expect(String(decoding: bytes, as: UTF8.self) == "PROXY TCP4 192.0.2.7 10.0.0.1 34334 21\r\n")
    }

    @Test func versionOneWritesIPv6AsTCP6() throws {
        let bytes = header(
            .v1,
            try SocketAddress(ipAddress: "2001:db8::7", port: 50000),
            try SocketAddress(ipAddress: "2001:db8::1", port: 21)
        )
        #expect(String(decoding: bytes, as: UTF8.self) == "PROXY TCP6 2001:db8::7 2001:db8::1 50000 21\r\n")
    }

    @Test func anIPv4ClientOnADualStackListenerIsWrittenAsIPv4() throws {
        let bytes = header(
            .v1,
            try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 1024),
            try SocketAddress(ipAddress: "::ffff:10.0.0.1", port: 21)
        )
        #expect(String(decoding: bytes, as: UTF8.self) == "PROXY TCP4 192.0.2.7 10.0.0.1 1024 21\r\n")
    }

    @Test func versionTwoIPv4IsTheSignatureCommandFamilyLengthAddressesAndPorts() throws {
        let bytes = header(
            .v2,
            try SocketAddress(ipAddress: "192.0.2.7", port: 34334),
            try SocketAddress(ipAddress: "10.0.0.1", port: 21)
        )
        let expected: [UInt8] =
            signature + [0x21, 0x11, 0x00, 0x0C] + [192, 0, 2, 7] + [10, 0, 0, 1] + [0x86, 0x1E] + [0x00, 0x15]
        #expect(bytes == expected)
    }

    @Test func versionTwoIPv6CarriesSixteenByteAddresses() throws {
        let bytes = header(
            .v2,
            try SocketAddress(ipAddress: "2001:db8::7", port: 50000),
            try SocketAddress(ipAddress: "2001:db8::1", port: 21)
        )
        #expect(bytes.count == 16 + 36)
        #expect(Array(bytes[12..<16]) == [0x21, 0x21, 0x00, 0x24])
        #expect(Array(bytes[16..<32]) == [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [7])
        #expect(Array(bytes[48..<52]) == [0xC3, 0x50, 0x00, 0x15])
    }

    @Test func addressesOfDifferentFamiliesGiveTheUnknownHeader() throws {
        let client = try SocketAddress(ipAddress: "192.0.2.7", port: 1)
        let destination = try SocketAddress(ipAddress: "2001:db8::1", port: 21)
        #expect(String(decoding: header(.v1, client, destination), as: UTF8.self) == "PROXY UNKNOWN\r\n")
        #expect(header(.v2, client, destination) == signature + [0x20, 0x00, 0x00, 0x00])
    }

    @Test func aLocalHeaderSaysTheConnectionIsTheBalancersOwn() {
        var v1 = ByteBuffer()
        ProxyProtocolHeader.writeLocal(.v1, into: &v1)
        #expect(String(buffer: v1) == "PROXY UNKNOWN\r\n")
        var v2 = ByteBuffer()
        ProxyProtocolHeader.writeLocal(.v2, into: &v2)
        #expect(Array(v2.readableBytesView) == signature + [0x20, 0x00, 0x00, 0x00])
    }
}
