/// The status page at `/` of the admin listener, in the spirit of HAProxy's stats page: one
/// self-contained HTML document (inline style and script, nothing fetched from elsewhere) whose
/// script polls the JSON views of the API and redraws the virtual services and their servers.
///
/// Data reaches the page only through the script, which writes it with `textContent`: a server
/// name from the configuration can never become markup. The little the document itself carries
/// (the services' names, in the title) goes through `escape`.
package enum StatusPage {
    package static let path = "/"
    package static let contentType = "text/html; charset=utf-8"
    /// How often the page polls the API, in milliseconds.
    static let refreshMilliseconds = 2000
    /// A poll that takes longer than this counts as the balancer not answering.
    static let requestTimeoutMilliseconds = 5000
    /// The JSON views the page reads on each poll.
    static let views = ["services", "pools", "sessions", "flows", "stats"]

    /// The browser may run only this document's own script and style and talk only to this
    /// listener: an injected string could not load or send anything elsewhere.
    static let headers: [(String, String)] = [
        (
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]

    /// The whole page; `services` names the running virtual services for the title.
    static func document(services: [String]) -> String {
        let title = services.isEmpty ? "ftplb status" : "ftplb status: \(services.joined(separator: ", "))"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title))</title>
            <link rel="icon" href="data:,">
            <style>
            \(Self.style)
            </style>
            </head>
            <body>
            <header>
            <h1>ftplb status</h1>
            <p id="status" class="waiting" role="status">loading…</p>
            </header>
            <section id="totals" aria-label="totals"></section>
            <main id="services"></main>
            <noscript><p>This page draws itself with JavaScript from the JSON at \(AdminAPI.prefix)/; \
            without it, read those views or use <code>ftplb show</code>.</p></noscript>
            <script>
            "use strict";
            const REFRESH_MS = \(Self.refreshMilliseconds);
            const TIMEOUT_MS = \(Self.requestTimeoutMilliseconds);
            const API = "\(AdminAPI.prefix)/";
            const VIEWS = [\(Self.views.map { "\"\($0)\"" }.joined(separator: ", "))];
            \(Self.script)
            </script>
            </body>
            </html>

            """
    }

    /// The page's behaviour, `Resources/status.js`, embedded at build time.
    static let script = Self.text(PackageResources.status_js)
    /// The page's style, `Resources/status.css`, embedded at build time.
    static let style = Self.text(PackageResources.status_css)

    /// A resource file as text, without the newline that ends the file: the page puts its own.
    private static func text(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }

    /// `text` made safe as HTML text or a quoted attribute value.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}
