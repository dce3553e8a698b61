import Foundation

/// Who can reach a ZeroMQ endpoint: processes of this machine only (loopback TCP, `ipc://`,
/// `inproc://`), or the network.
public enum EndpointScope: Sendable, Equatable {
    case local, network

    public init(endpoint: String) {
        let lower = endpoint.lowercased()
        if lower.hasPrefix("inproc://") || lower.hasPrefix("ipc://") {
            self = .local
            return
        }
        guard lower.hasPrefix("tcp://") else {
            self = .network  // pgm, epgm, ws, vmci...: not ours to judge, so not trusted
            return
        }
        // tcp://HOST:PORT, tcp://[IPV6]:PORT, tcp://INTERFACE:PORT, tcp://SRC;HOST:PORT.
        var address = String(lower.dropFirst("tcp://".count))
        if let semicolon = address.lastIndex(of: ";") { address = String(address[address.index(after: semicolon)...]) }
        var host: String
        if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
            host = String(address[address.index(after: address.startIndex)..<close])
        } else {
            host = address.split(separator: ":", omittingEmptySubsequences: false).dropLast().joined(separator: ":")
            if host.isEmpty { host = address }
        }
        let loopbackV4 = host.hasPrefix("127.") && host.split(separator: ".").count == 4
            && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
        self = loopbackV4 || host == "localhost" || host == "::1" || host == "lo" ? .local : .network
    }
}
