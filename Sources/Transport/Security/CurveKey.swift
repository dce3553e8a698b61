import CLibZMQ
import Crypto
import Foundation

/// A CurveZMQ key (Curve25519, 32 bytes), public or secret, written as Z85 (40 characters)
/// as libzmq, czmq and pyzmq write it.
public struct CurveKey: Hashable, Sendable, CustomStringConvertible {
    public let bytes: Data

    public struct KeyError: Error, CustomStringConvertible, Equatable, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public init(bytes: Data) throws(KeyError) {
        guard bytes.count == 32 else { throw KeyError("a CURVE key has 32 bytes, not \(bytes.count)") }
        self.bytes = bytes
    }

    /// From its Z85 text (40 characters of the Z85 alphabet).
    public init(z85: String) throws(KeyError) {
        guard z85.utf8.count == 40 else { throw KeyError("a Z85 CURVE key has 40 characters, not \(z85.utf8.count)") }
        var out = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&out, z85) != nil else { throw KeyError("'\(z85)' is not Z85 text") }
        bytes = Data(out)
    }

    public var z85: String {
        var out = [CChar](repeating: 0, count: 41)
        _ = bytes.withUnsafeBytes { zmq_z85_encode(&out, $0.bindMemory(to: UInt8.self).baseAddress, 32) }
        return Self.text(out)
    }

    /// A Z85 buffer of libzmq (40 characters and a NUL) as text.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What logs and `keygen` show to tell keys apart: SHA-256 of the key's 32 bytes, its
    /// first 16 hex digits.
    public var fingerprint: String {
        "sha256:" + SHA256.hash(data: bytes).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Public keys only: the description never prints a secret.
    public var description: String { fingerprint }
}

/// A key pair: this peer's public key (what others authorise) and its secret key.
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: CurveKey
    public let secretKey: CurveKey

    /// A new pair from libzmq (libsodium's random source).
    public static func generate() throws -> CurveKeyPair {
        guard zmq_has("curve") != 0 else { throw CurveKey.KeyError("this libzmq was built without CURVE (libsodium)") }
        var publicText = [CChar](repeating: 0, count: 41), secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else { throw CurveKey.KeyError("zmq_curve_keypair failed") }
        return try CurveKeyPair(publicKey: CurveKey(z85: CurveKey.text(publicText)), secretKey: CurveKey(z85: CurveKey.text(secretText)))
    }

    /// A pair whose public key is checked against the one derived from the secret key.
    public init(publicKey: CurveKey, secretKey: CurveKey) throws(CurveKey.KeyError) {
        guard try Self.derivePublic(from: secretKey) == publicKey else {
            throw CurveKey.KeyError("the public key \(publicKey.fingerprint) does not belong to this secret key")
        }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    static func derivePublic(from secret: CurveKey) throws(CurveKey.KeyError) -> CurveKey {
        var publicText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicText, secret.z85) == 0 else { throw CurveKey.KeyError("cannot derive a public key (libzmq without CURVE?)") }
        return try CurveKey(z85: CurveKey.text(publicText))
    }
}
