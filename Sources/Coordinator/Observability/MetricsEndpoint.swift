import Configuration
/// `coordinator.metrics_endpoint`: `HOST:PORT`, `[IPv6]:PORT` or a bare `PORT` (loopback,
/// 127.0.0.1). Port 0 takes a free port (tests).
public struct MetricsEndpoint: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        var host = "127.0.0.1", portText = t
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]"), t[t.index(after: close)...].hasPrefix(":") else { throw Self.error(text) }
            host = String(t[t.index(after: t.startIndex)..<close])
            portText = String(t[t.index(close, offsetBy: 2)...])
        } else if let colon = t.lastIndex(of: ":") {
            host = String(t[..<colon])
            portText = String(t[t.index(after: colon)...])
        }
        guard !host.isEmpty, !host.contains("/"), let port = Int(portText), (0...65535).contains(port) else { throw Self.error(text) }
        self.host = host
        self.port = port
    }

    static func error(_ text: String) -> ClusterConfig.ConfigError {
        ClusterConfig.ConfigError("coordinator.metrics_endpoint: '\(text)' is not HOST:PORT (e.g. 127.0.0.1:9464, or a port alone for loopback)")
    }

    /// Reachable from this machine only.
    public var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
