import Foundation

/// Keys and certificates made by the `openssl` command for one test, in a directory of their
/// own that `remove()` deletes. Certificates are valid from their making for one day.
struct TLSTestFiles {
    struct OpenSSLFailed: Error, CustomStringConvertible {
        var description: String
    }

    let directory: String

    init() throws {
        var template = Array("/tmp/ftplb-tls-XXXXXX".utf8CString)
        guard let path = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw OpenSSLFailed(description: "mkdtemp failed")
        }
        self.directory = String(cString: path)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    func path(_ name: String) -> String {
        "\(self.directory)/\(name)"
    }

    /// Writes `text` to `name`; returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: self.path(name), atomically: true, encoding: .utf8)
        return self.path(name)
    }

    /// The files' contents, one after the other, as a new file.
    func concatenate(_ names: [String], into name: String) throws -> String {
        let text = try names.map { try String(contentsOfFile: self.path($0), encoding: .utf8) }.joined()
        return try self.write(name, text)
    }

    /// A P-256 key (or RSA 2048 with `rsa`) in `name`; returns its path.
    @discardableResult
    func key(_ name: String, rsa: Bool = false) throws -> String {
        let algorithm =
            rsa ? ["RSA", "-pkeyopt", "rsa_keygen_bits:2048"] : ["EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        try self.openssl(["genpkey", "-algorithm"] + algorithm + ["-out", self.path(name)])
        return self.path(name)
    }

    /// A self-signed certificate for `key` in `name`, with `subject` and, when given,
    /// subjectAltName `san` (`DNS:ftp.example.com,IP:127.0.0.1`); returns its path.
    @discardableResult
    func selfSigned(
        _ name: String,
        key: String,
        subject: String = "/CN=ftp.example.com",
        san: String? = nil
    ) throws -> String {
        var arguments = ["req", "-x509", "-new", "-key", self.path(key), "-days", "1", "-subj", subject]
        if let san {
            arguments += ["-addext", "subjectAltName=\(san)"]
        }
        try self.openssl(arguments + ["-out", self.path(name)])
        return self.path(name)
    }

    /// A certificate for `key` with `subject`, signed by the CA certificate `ca` and its key.
    @discardableResult
    func signed(_ name: String, key: String, subject: String, ca: String, caKey: String) throws -> String {
        try self.openssl(["req", "-new", "-key", self.path(key), "-subj", subject, "-out", self.path("\(name).csr")])
        try self.openssl([
            "x509", "-req", "-in", self.path("\(name).csr"), "-CA", self.path(ca), "-CAkey", self.path(caKey),
            "-set_serial", "2", "-days", "1", "-out", self.path(name),
        ])
        return self.path(name)
    }

    /// Runs `openssl arguments` with no input, for at most 60 seconds.
    func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline {
            usleep(10_000)
        }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw OpenSSLFailed(description: "openssl \(arguments.joined(separator: " ")) failed: \(text)")
        }
    }
}
