import Foundation
import Logging

/// The coordinator's ZAP handler (ZeroMQ RFC 27) as a pure value: it answers libzmq's
/// authentication requests for the ROUTER socket's CURVE handshakes. The loop owns the REP
/// socket (`inproc://zeromq.zap.01`) and feeds it the requests.
///
/// - A key of the key ring is accepted; the reply's User-Id is the key's Z85 text (as pyzmq's
///   authenticator does), from which the loop learns each message's identity and role.
/// - An unknown key is refused (status 400) and logged once per key, with its fingerprint.
/// - Every accepted connection gets a routing id chosen here (the ZAP metadata property
///   `Identity`, which libzmq applies after the peer's own handshake metadata): a peer's
///   self-chosen routing id never reaches the ROUTER, so no peer can collide with another's
///   or with the ids libzmq generates itself (the `socket_base.cpp:2130` abort).
///
/// Under `mode: none` (`Mechanism.null`) it authenticates nobody: it accepts every NULL
/// handshake and only gives the connection its random routing id, for the same reason.
package struct ZAPHandler {
    /// Which handshakes it accepts.
    package enum Mechanism: Equatable, Sendable {
        /// CURVE, keys of the key ring only.
        case curve
        /// NULL (`security.mode: none`): everyone, with a routing id chosen here.
        case null
    }

    package var keyRing: KeyRing
    package let mechanism: Mechanism
    /// Unknown keys already logged (bounded: a flood of fresh keys cannot grow it forever).
    private var loggedUnknown: Set<String> = []
    package static let maxLoggedUnknown = 4096

    package init(keyRing: KeyRing = KeyRing(), mechanism: Mechanism = .curve) {
        self.keyRing = keyRing
        self.mechanism = mechanism
    }

    package struct Answer: Equatable {
        package let reply: [Data]
        /// What to log about it (nil: nothing, e.g. an unknown key seen before).
        package let diagnostic: ZAPDiagnostic?
    }

    /// The reply to one request: frames `version, request id, domain, address, identity,
    /// mechanism, credentials...`. `routingID` makes a fresh id for an accepted peer.
    package mutating func answer(_ request: [Data], routingID: () -> Data) -> Answer {
        guard request.count >= 6, request[0] == Data("1.0".utf8) else {
            // Not a ZAP 1.0 request: libzmq never sends one; answer with what can be read.
            return Answer(reply: Self.reply(request.count > 1 ? request[1] : Data(), status: "500", text: "malformed ZAP request"),
                          diagnostic: .malformedRequest(frames: request.count))
        }
        let requestID = request[1]
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        if self.mechanism == .null {
            guard mechanism == "NULL" else {
                return Answer(reply: Self.reply(requestID, status: "400", text: "NULL expected"),
                              diagnostic: .wrongMechanism(offered: mechanism, expected: .null, address: address))
            }
            return Answer(reply: Self.reply(requestID, status: "200", text: "OK", metadata: Self.metadata(["Identity": routingID()])), diagnostic: nil)
        }
        guard mechanism == "CURVE", request.count == 7, let key = try? CurveKey(bytes: request[6]) else {
            return Answer(reply: Self.reply(requestID, status: "400", text: "CURVE required"),
                          diagnostic: .wrongMechanism(offered: mechanism, expected: .curve, address: address))
        }
        guard let entry = keyRing.entry(z85: key.z85) else {
            var diagnostic: ZAPDiagnostic?
            if loggedUnknown.count < Self.maxLoggedUnknown, loggedUnknown.insert(key.z85).inserted {
                diagnostic = .unknownKey(fingerprint: key.fingerprint, publicKey: key.z85, address: address)
            }
            return Answer(reply: Self.reply(requestID, status: "400", text: "unknown key"), diagnostic: diagnostic)
        }
        return Answer(reply: Self.reply(requestID, status: "200", text: "OK", userID: key.z85,
                                        metadata: Self.metadata(["Identity": routingID()])),
                      diagnostic: .accepted(identity: entry.identity, fingerprint: key.fingerprint, address: address))
    }

    package static func reply(_ requestID: Data, status: String, text: String, userID: String = "", metadata: Data = Data()) -> [Data] {
        [Data("1.0".utf8), requestID, Data(status.utf8), Data(text.utf8), Data(userID.utf8), metadata]
    }

    /// ZMTP metadata: per property, name length (1 byte), name, value length (4 bytes, big
    /// endian), value.
    package static func metadata(_ properties: KeyValuePairs<String, Data>) -> Data {
        var out = Data()
        for (name, value) in properties {
            out.append(UInt8(name.utf8.count))
            out.append(contentsOf: Array(name.utf8))
            withUnsafeBytes(of: UInt32(value.count).bigEndian) { out.append(contentsOf: $0) }
            out.append(value)
        }
        return out
    }

    /// A routing id no peer can predict or choose: 0x01 and 15 random bytes (libzmq's own ids
    /// are 5 bytes starting with 0x00, so the two never meet).
    package static func randomRoutingID<G: RandomNumberGenerator>(using generator: inout G) -> Data {
        Data([0x01] + (0..<15).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
