import Configuration
import Foundation
import Protocol
import Transport

/// `winclip-coord status`: one STATUS_REQUEST to the coordinator of a cluster config (with its
/// CURVE keys: an operator key sees the whole rack, a client key its own jobs), one answer.
public enum StatusClient {
    public struct StatusError: Error, CustomStringConvertible, Equatable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// The rack's status, or an error naming the endpoint when no answer comes within `timeout`.
    public static func fetch(config: ClusterConfig, context: ZMQContext = ZMQContext(), timeout: Double = 5) throws -> RackStatus {
        let socket = try ZMQSocket(context, .dealer)
        defer { socket.close() }
        let security = try config.security.peerSecurity()
        try security.apply(to: socket)
        let watch = try HandshakeWatch.watch(socket, context: context, endpoint: config.coordinator.endpoint, role: .operator, key: security.publicKey)
        try socket.connect(config.coordinator.endpoint)
        let request = WireMessage(.statusRequest, StatusRequest()).frames
        var sent = false
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            if let diagnosis = watch?.update(), diagnosis.isHopeless(after: 3), let why = diagnosis.lastFailure { throw StatusError(why.description) }
            // Never a blocking send: while a refused handshake is retried the DEALER may have
            // no pipe to queue on, and a blocking send would wait forever.
            if !sent { sent = try socket.send(request, dontWait: true) }
            let wait = max(1, min(sent ? 200 : 20, Int((deadline - monotonicSeconds()) * 1000)))
            guard let frames = try socket.receive(timeoutMs: wait) else { continue }
            let message = try WireMessage(frames: frames)
            switch message.type {
            case .statusReply: return try message.decode(RackStatus.self)
            case .refused: throw StatusError("the coordinator refused: \(try message.decode(Refused.self).reason)")
            default: continue  // a heartbeat
            }
        }
        throw StatusError("no answer from the coordinator at \(config.coordinator.endpoint) within \(Int(timeout)) s (is `winclip-coord serve` running there, and is it a version that answers STATUS_REQUEST?)")
    }
}
