import Foundation
import Logging
import XCTest
import WinCLIP
@testable import Configuration
@testable import Protocol
@testable import Transport

/// CurveZMQ certificates as czmq/pyzmq write them, the key ring of authorised folders, the
/// ZAP handler's answers, which endpoints count as local, and the `security:` section.
final class SecurityKeyTests: XCTestCase {
    let fixtures = clusterFixtures.appendingPathComponent("curve")

    func testReadsPyzmqCertificates() throws {
        // Written by Tools/reference/curve_certificates.py with zmq.auth.create_certificates.
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("expected.json"))) as! [String: String]
        let publicFile = try CurveCertificate.read(fixtures.appendingPathComponent("pyzmq-peer.key"))
        XCTAssertEqual(publicFile.publicKey.z85, expected["public_key"])
        XCTAssertNil(publicFile.secretKey)
        let secretFile = try CurveCertificate.read(fixtures.appendingPathComponent("pyzmq-peer.key_secret"))
        XCTAssertEqual(secretFile.secretKey?.z85, expected["secret_key"])
        let pair = try secretFile.keyPair(source: "pyzmq-peer.key_secret")
        XCTAssertEqual(pair.publicKey.z85, expected["derived_public_key"], "libzmq derives the same public key as pyzmq's libzmq")
        XCTAssertThrowsError(try publicFile.keyPair(source: "pyzmq-peer.key")) {
            XCTAssert("\($0)".contains("give the NAME.key_secret file"), "\($0)")
        }
    }

    func testWrittenCertificatesReadBackAsPyzmqReadsThem() throws {
        let dir = try temporaryOutputFolder(self)
        let made = try CurveCertificate.generate(name: "worker-01", directory: dir)
        XCTAssertEqual(made.publicFile.lastPathComponent, "worker-01.key")
        XCTAssertEqual(made.secretFile.lastPathComponent, "worker-01.key_secret")
        let mode = try FileManager.default.attributesOfItem(atPath: made.secretFile.path)[.posixPermissions] as! Int
        XCTAssertEqual(mode, 0o600, "the secret key is readable by its owner only")
        let text = try String(contentsOf: made.secretFile, encoding: .utf8)
        // pyzmq's layout: banner comments, then metadata and curve sections, keys quoted.
        XCTAssert(text.contains("#   ZeroMQ CURVE **Secret** Certificate\n"), text)
        XCTAssert(text.contains("\nmetadata\ncurve\n    public-key = \"\(made.keys.publicKey.z85)\"\n    secret-key = \"\(made.keys.secretKey.z85)\"\n"), text)
        XCTAssertEqual(try CurveCertificate.read(made.publicFile).publicKey, made.keys.publicKey)
        XCTAssertEqual(try CurveCertificate.read(made.secretFile).keyPair(source: "s"), made.keys)
        XCTAssertThrowsError(try CurveCertificate.generate(name: "worker-01", directory: dir), "never overwrites a key")
        XCTAssertThrowsError(try CurveCertificate.generate(name: "../escape", directory: dir))
    }

    func testBadCertificatesAreClearErrors() {
        XCTAssertThrowsError(try CurveCertificate.parse("metadata\ncurve\n", source: "x.key")) {
            XCTAssert("\($0)".contains("holds no public-key line"), "\($0)")
        }
        XCTAssertThrowsError(try CurveCertificate.parse("curve\n    public-key = \"short\"\n", source: "x.key")) {
            XCTAssert("\($0)".contains("40 characters"), "\($0)")
        }
        // A secret that does not belong to the public key beside it.
        let a = try! CurveKeyPair.generate(), b = try! CurveKeyPair.generate()
        XCTAssertThrowsError(try CurveCertificate.parse("curve\n public-key = \"\(a.publicKey.z85)\"\n secret-key = \"\(b.secretKey.z85)\"\n", source: "x.key_secret")) {
            XCTAssert("\($0)".contains("does not belong"), "\($0)")
        }
        XCTAssertThrowsError(try CurveCertificate.read(URL(fileURLWithPath: "/nonexistent/k.key")))
    }

    func testKeyRingRolesComeFromTheFolders() throws {
        let dir = try temporaryOutputFolder(self)
        let workers = dir.appendingPathComponent("workers"), clients = dir.appendingPathComponent("clients")
        let w = try CurveCertificate.generate(name: "w1", directory: workers)
        let c = try CurveCertificate.generate(name: "alice", directory: clients)
        try FileManager.default.removeItem(at: w.secretFile)  // secrets are not read anyway
        try writeTestText(workers, "README.txt", "not a key")
        let ring = try KeyRing.load(workers: workers, clients: clients)
        XCTAssertEqual(ring.entry(z85: w.keys.publicKey.z85)?.identity, .key(name: "w1", role: .worker))
        XCTAssertEqual(ring.entry(z85: c.keys.publicKey.z85)?.identity, .key(name: "alice", role: .client))
        XCTAssertEqual(ring.count(.worker), 1)
        // The client's .key_secret in its folder is ignored (only *.key files are keys).
        XCTAssertEqual(ring.count(.client), 1)

        // One key in both folders is refused.
        try FileManager.default.copyItem(at: c.publicFile, to: workers.appendingPathComponent("alice-too.key"))
        XCTAssertThrowsError(try KeyRing.load(workers: workers, clients: clients)) { XCTAssert("\($0)".contains("one key, one name and one role"), "\($0)") }
        try FileManager.default.removeItem(at: workers.appendingPathComponent("alice-too.key"))
        XCTAssertThrowsError(try KeyRing.load(workers: dir.appendingPathComponent("missing"), clients: clients)) {
            XCTAssert("\($0)".contains("security.authorized_workers"), "\($0)")
        }

        // Revocation: removing w1 revokes it; alice stays.
        try FileManager.default.removeItem(at: w.publicFile)
        let newer = try KeyRing.load(workers: workers, clients: clients)
        XCTAssertEqual(ring.revoked(in: newer), [.key(name: "w1", role: .worker)])
        XCTAssertEqual(newer.revoked(in: ring), [])
    }

    /// `mode: none`: every NULL handshake is accepted with a routing id chosen by the handler.
    func testZAPHandlerUnderNullAssignsRoutingIDsToEveryone() throws {
        var handler = ZAPHandler(mechanism: .null)
        var rng = SystemRandomNumberGenerator()
        let null: [Data] = [Data("1.0".utf8), Data("3".utf8), Data("winclip".utf8), Data("127.0.0.1".utf8), Data("victim".utf8), Data("NULL".utf8)]
        let ok = handler.answer(null) { ZAPHandler.randomRoutingID(using: &rng) }
        XCTAssertEqual(String(decoding: ok.reply[2], as: UTF8.self), "200")
        XCTAssertEqual(ok.reply[4], Data(), "no User-Id: nobody is authenticated")
        let meta = [UInt8](ok.reply[5])
        XCTAssertEqual(String(decoding: meta[1..<9], as: UTF8.self), "Identity")
        XCTAssertEqual(meta.count, 1 + 8 + 4 + 16)
        XCTAssertEqual(meta[13], 0x01, "never one of libzmq's ids, nor the one the peer asked for")
        XCTAssertNotEqual(handler.answer(null) { ZAPHandler.randomRoutingID(using: &rng) }.reply[5], ok.reply[5])
        var curve = null
        curve[5] = Data("CURVE".utf8)
        curve.append(Data(count: 32))
        let refused = handler.answer(curve) { XCTFail("no id for a refused handshake"); return Data() }
        XCTAssertEqual(String(decoding: refused.reply[2], as: UTF8.self), "400")
        XCTAssertEqual(refused.diagnostic, .wrongMechanism(offered: "CURVE", expected: .null, address: String(decoding: null[3], as: UTF8.self)))
    }

    func testZAPHandlerAcceptsKnownKeysRefusesUnknownOnesAndAssignsRoutingIDs() throws {
        let known = try CurveKeyPair.generate(), stranger = try CurveKeyPair.generate()
        var handler = ZAPHandler(keyRing: KeyRing([.init(key: known.publicKey, name: "w1", role: .worker, file: "w1.key")]))
        func request(_ key: CurveKey, mechanism: String = "CURVE") -> [Data] {
            [Data("1.0".utf8), Data("7".utf8), Data("winclip".utf8), Data("127.0.0.1".utf8), Data(), Data(mechanism.utf8), key.bytes]
        }
        var rng = SystemRandomNumberGenerator()
        let ok = handler.answer(request(known.publicKey)) { ZAPHandler.randomRoutingID(using: &rng) }
        XCTAssertEqual(ok.reply.count, 6)
        XCTAssertEqual(ok.reply[1], Data("7".utf8), "the request id is echoed")
        XCTAssertEqual(ok.diagnostic, .accepted(identity: .key(name: "w1", role: .worker), fingerprint: known.publicKey.fingerprint, address: "127.0.0.1"))
        XCTAssertEqual(String(decoding: ok.reply[2], as: UTF8.self), "200")
        XCTAssertEqual(String(decoding: ok.reply[4], as: UTF8.self), known.publicKey.z85, "User-Id is the key's Z85, as pyzmq's authenticator sets it")
        // Metadata: "Identity" = 16 bytes starting with 0x01 (never one of libzmq's 00 xx xx xx xx).
        let meta = [UInt8](ok.reply[5])
        XCTAssertEqual(meta.count, 1 + 8 + 4 + 16)
        XCTAssertEqual(String(decoding: meta[1..<9], as: UTF8.self), "Identity")
        XCTAssertEqual(Array(meta[9..<13]), [0, 0, 0, 16])
        XCTAssertEqual(meta[13], 0x01)
        let second = handler.answer(request(known.publicKey)) { ZAPHandler.randomRoutingID(using: &rng) }
        XCTAssertNotEqual(second.reply[5], ok.reply[5], "every connection gets its own routing id")

        let refused = handler.answer(request(stranger.publicKey)) { XCTFail("no id for a refused key"); return Data() }
        XCTAssertEqual(String(decoding: refused.reply[2], as: UTF8.self), "400")
        XCTAssertEqual(refused.reply[4], Data(), "no User-Id")
        XCTAssertEqual(refused.diagnostic, .unknownKey(fingerprint: stranger.publicKey.fingerprint, publicKey: stranger.publicKey.z85, address: "127.0.0.1"))
        let again = handler.answer(request(stranger.publicKey)) { Data() }
        XCTAssertEqual(String(decoding: again.reply[2], as: UTF8.self), "400")
        XCTAssertNil(again.diagnostic, "an unknown key is logged once")

        let plain = handler.answer(request(known.publicKey, mechanism: "PLAIN")) { Data() }
        XCTAssertEqual(String(decoding: plain.reply[2], as: UTF8.self), "400")
        XCTAssertEqual(plain.diagnostic, .wrongMechanism(offered: "PLAIN", expected: .curve, address: "127.0.0.1"))
        let garbage = handler.answer([Data("2.0".utf8)]) { Data() }
        XCTAssertEqual(String(decoding: garbage.reply[2], as: UTF8.self), "500")
        XCTAssertEqual(garbage.diagnostic, .malformedRequest(frames: 1))
    }

    func testEndpointScope() {
        for local in ["tcp://127.0.0.1:5555", "tcp://127.0.0.1:*", "tcp://localhost:1", "tcp://[::1]:5555", "tcp://lo:5555",
                      "tcp://127.1.2.3:9", "ipc:///tmp/winclip.sock", "inproc://x"] {
            XCTAssertEqual(EndpointScope(endpoint: local), .local, local)
        }
        for network in ["tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://10.0.0.5:5555", "tcp://eth0:5555", "tcp://[::]:5555",
                        "tcp://host.example:5555", "tcp://127.0.0.1.evil:5", "tcp://127.0.0.1;10.0.0.5:5555", "pgm://eth0;239.1.1.1:5555"] {
            XCTAssertEqual(EndpointScope(endpoint: network), .network, network)
        }
    }

    func testSecuritySectionIsStrictAndRefusesInsecureNetworkEndpoints() throws {
        func parse(_ yaml: String) throws -> ClusterConfig { try ClusterConfig.parse(yaml, baseDirectory: URL(fileURLWithPath: "/etc/winclip")) }
        // mode none on an address other machines reach: refused by name and line.
        XCTAssertThrowsError(try parse("coordinator:\n  endpoint: tcp://0.0.0.0:5555\n")) {
            XCTAssert("\($0)".contains("coordinator.endpoint (line 2) tcp://0.0.0.0:5555 is reachable from other machines while security.mode is none"), "\($0)")
        }
        let insecure = try parse("coordinator:\n  endpoint: tcp://0.0.0.0:5555\nsecurity:\n  allow_insecure: true\n")
        XCTAssert(try insecure.security.checkEndpoint("tcp://0.0.0.0:5555")?.contains("INSECURE") == true, "a warning at every start")
        XCTAssertNil(try ClusterConfig().security.checkEndpoint("tcp://127.0.0.1:5555"), "loopback needs no keys and no warning")
        XCTAssertThrowsError(try ClusterConfig().security.checkEndpoint("tcp://10.1.2.3:5555"), "--endpoint overrides are checked too")
        _ = try parse("coordinator:\n  endpoint: tcp://0.0.0.0:5555\nsecurity:\n  mode: curve\n")
        for (yaml, expected) in [("security:\n  mode: tls\n", "must be curve or none, not 'tls'"),
                                 ("security:\n  allow_insecure: maybe\n", "security.allow_insecure (line 2) must be true or false"),
                                 ("security:\n  secret: k\n", "in 'security' (line 2)"),
                                 ("security:\n  max_jobs_per_client: 0\n", "security.max_jobs_per_client (line 2) must be at least 1")] {
            XCTAssertThrowsError(try parse(yaml)) { XCTAssert("\($0)".contains(expected), "'\($0)' should say '\(expected)'") }
        }
        // Role-specific keys are asked for when used, by name.
        let curve = try parse("security:\n  mode: curve\n")
        XCTAssertThrowsError(try curve.security.coordinatorSecurity()) { XCTAssert("\($0)".contains("security.coordinator_secret_key"), "\($0)") }
        XCTAssertThrowsError(try curve.security.peerSecurity()) { XCTAssert("\($0)".contains("security.coordinator_public_key"), "\($0)") }
        XCTAssertEqual(try ClusterConfig().security.peerSecurity(), .none)
    }

    func testFrameLimitFollowsTheModel() throws {
        let tiny = try ModelConfig.load(clusterFixtures.appendingPathComponent("tiny-vit-48.json").path)
        // Tiny: 16 references x 6² patches x 64 wide x 4 bytes of patch tokens is the largest
        // frame (the JSON body is at most 64 KiB).
        let tinyLargest = Int64(16 * 36 * 64 * 4)
        XCTAssertGreaterThan(tinyLargest, Int64(WireMessage.maxBodyBytes))
        XCTAssertEqual(FrameLimit.bytes(for: tiny, maxReferences: 16), tinyLargest + tinyLargest / 16 + 65536)
        let big = try ModelConfig.load("ViT-B-16-plus-240")
        // 16 references x 15² patches x 896 wide x 4 bytes = 12.9 MB of patch tokens.
        let limit = FrameLimit.bytes(for: big, maxReferences: 16)
        XCTAssertGreaterThan(limit, 16 * 225 * 896 * 4)
        XCTAssertLessThan(limit, 16 << 20, "far below the 256 MiB of before")
        XCTAssertGreaterThanOrEqual(FrameLimit.bytesForLargestBuiltIn(maxReferences: 16), limit)
    }

    func testRateLimiterCutsOffAFloodAndForgives() {
        var limiter = PeerRateLimiter(messagesPerSecond: 100, burstSeconds: 1, banSeconds: 5)
        let calm = Data([1]), flood = Data([2])
        var cut = 0
        for i in 0..<300 {
            XCTAssertEqual(limiter.admit(calm, at: Double(i) * 0.02), .admit, "50 a second is within the limit")
            switch limiter.admit(flood, at: Double(i) * 0.001) {
            case .cutOff: cut += 1
            case .drop, .admit: break
            }
        }
        XCTAssertEqual(cut, 1, "cut off once, then its messages are dropped")
        XCTAssertEqual(limiter.admit(flood, at: 1), .drop)
        XCTAssertEqual(limiter.admit(flood, at: 7), .admit, "after the ban it starts afresh")
        var throttle = LogThrottle(perSecond: 3)
        let written = (0..<10).filter { _ in throttle.admit(at: 0.5).write }.count
        XCTAssertEqual(written, 3)
        XCTAssertEqual(throttle.admit(at: 1.6).summary, "7 warning(s) not logged in the last second (more than 3 a second)")
    }
}
