/// What a ZeroMQ endpoint string must be before a socket sees it. libzmq accepts
/// `tcp://127.0.0.1:70000` (and talks to another port than the one written), and cannot bind
/// `tcp://localhost:PORT` (it binds interfaces and addresses, not host names: "No such device").
public enum EndpointAddress {
    /// Why a TCP endpoint's port cannot work (nil when it can, or for other transports): it must
    /// be a number from 1 to 65535, or `*` (bind any free port).
    public static func portProblem(_ endpoint: String) -> String? {
        guard endpoint.lowercased().hasPrefix("tcp://") else { return nil }
        guard let colon = endpoint.lastIndex(of: ":"), endpoint[..<colon].count > "tcp:/".count else {
            return "\(endpoint) has no port (tcp://HOST:PORT)"
        }
        let port = endpoint[endpoint.index(after: colon)...]
        if port == "*" { return nil }
        guard !port.isEmpty, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber), let value = Int(port), (1...65535).contains(value) else {
            return "\(endpoint) has port '\(port)', which must be a number from 1 to 65535"
        }
        return nil
    }

    /// The endpoint to bind: `tcp://localhost:PORT` becomes `tcp://127.0.0.1:PORT` (what
    /// connecting to localhost reaches); anything else is unchanged.
    public static func forBinding(_ endpoint: String) -> String {
        let prefix = "tcp://localhost:"
        guard endpoint.lowercased().hasPrefix(prefix) else { return endpoint }
        return "tcp://127.0.0.1:" + endpoint.dropFirst(prefix.count)
    }
}
