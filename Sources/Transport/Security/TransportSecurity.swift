import CLibZMQ
import Foundation

/// The coordinator's CURVE server: its key pair and the folders of the keys it accepts.
public struct CurveServer: Sendable, Equatable {
    public var keys: CurveKeyPair
    public var authorizedWorkers: URL
    public var authorizedClients: URL
    /// Keys that may see the whole rack's status (optional).
    public var authorizedOperators: URL?
    public init(keys: CurveKeyPair, authorizedWorkers: URL, authorizedClients: URL, authorizedOperators: URL? = nil) {
        self.keys = keys
        self.authorizedWorkers = authorizedWorkers
        self.authorizedClients = authorizedClients
        self.authorizedOperators = authorizedOperators
    }

    public func loadKeyRing() throws -> KeyRing {
        try KeyRing.load(workers: authorizedWorkers, clients: authorizedClients, operators: authorizedOperators)
    }
}

/// How the coordinator's ROUTER authenticates peers.
public enum CoordinatorSecurity: Sendable, Equatable {
    /// No authentication: every peer is `PeerIdentity.anyone`.
    case none
    /// CURVE with a ZAP handler: only keys of the key ring, each in its role.
    case curve(CurveServer)
}

/// How a worker's or client's DEALER connects to the coordinator.
public enum PeerSecurity: Sendable, Equatable {
    case none
    case curve(serverKey: CurveKey, keys: CurveKeyPair)

    /// This peer's public key (nil under `mode: none`).
    package var publicKey: CurveKey? {
        if case .curve(_, let keys) = self { return keys.publicKey }
        return nil
    }

    public func apply(to socket: ZMQSocket) throws {
        guard case .curve(let server, let keys) = self else { return }
        try requireCurve()
        try socket.setBytes(ZMQ_CURVE_SERVERKEY, server.bytes)
        try socket.setBytes(ZMQ_CURVE_PUBLICKEY, keys.publicKey.bytes)
        try socket.setBytes(ZMQ_CURVE_SECRETKEY, keys.secretKey.bytes)
    }
}

package func requireCurve() throws {
    guard zmq_has("curve") != 0 else { throw CurveKey.KeyError("security.mode curve: this libzmq was built without CURVE (libsodium)") }
}

extension ZMQSocket {
    public func setBytes(_ option: Int32, _ value: Data) throws {
        let rc = value.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, value.count) }
        guard rc == 0 else { throw ZMQError("zmq_setsockopt \(option)") }
    }

    /// Handshakes of this (server) socket go to the context's ZAP handler even under NULL,
    /// which libzmq asks only when the socket has a domain: it assigns the routing ids.
    package func setZAPDomain(_ domain: String) throws { try setBytes(ZMQ_ZAP_DOMAIN, Data(domain.utf8)) }

    /// The CURVE server side with this secret key; a ZAP handler of the socket's context
    /// decides who may connect (without one, libzmq would let every key in: callers bind
    /// the handler first).
    package func setCurveServer(secretKey: CurveKey) throws {
        try requireCurve()
        try setInt(ZMQ_CURVE_SERVER, 1)
        try setBytes(ZMQ_CURVE_SECRETKEY, secretKey.bytes)
        try setBytes(ZMQ_ZAP_DOMAIN, Data("winclip".utf8))
    }

    /// Receives one multipart message with the User-Id its connection's ZAP handler gave it
    /// (libzmq's message metadata; nil without authentication).
    public func receiveWithUserID(timeoutMs: Int? = nil) throws -> (frames: [Data], userID: String?)? {
        if let timeoutMs {
            guard try ZMQSocket.poll([self], timeoutMs: timeoutMs).first == true else { return nil }
        }
        var frames: [Data] = []
        var userID: String?
        repeat {
            var msg = zmq_msg_t()
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            guard zmq_msg_recv(&msg, handle, 0) >= 0 else { throw ZMQError("zmq_msg_recv") }
            let size = zmq_msg_size(&msg)
            frames.append(size == 0 ? Data() : Data(bytes: zmq_msg_data(&msg), count: size))
            // The ROUTER's routing-id frame is made locally and carries no metadata: read the
            // first frame that does.
            if userID == nil, let value = zmq_msg_gets(&msg, "User-Id") { userID = String(cString: value) }
            if zmq_msg_more(&msg) == 0 { break }
        } while true
        return (frames, userID)
    }

    /// Socket events (ZMQ_EVENT_*) published on an inproc PAIR endpoint (zmq_socket_monitor).
    public func monitor(_ endpoint: String, events: Int32) throws {
        guard zmq_socket_monitor(handle, endpoint, events) == 0 else { throw ZMQError("zmq_socket_monitor") }
    }

    /// One event from a monitor PAIR socket: its ZMQ_EVENT_* number and value.
    public static func readMonitorEvent(_ frames: [Data]) -> (event: UInt16, value: UInt32)? {
        guard let first = frames.first, first.count >= 6 else { return nil }
        let b = [UInt8](first)
        return (UInt16(b[0]) | UInt16(b[1]) << 8, UInt32(b[2]) | UInt32(b[3]) << 8 | UInt32(b[4]) << 16 | UInt32(b[5]) << 24)
    }
}
