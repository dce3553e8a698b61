import Foundation
import Logging
import Options
import XCTest
@testable import Protocol
@testable import Transport

/// The wire format: round trips, and malformed input that is refused without harm.
final class WireTests: XCTestCase {
    func testRoundTrip() throws {
        let pixels = FloatBlob.encode([1, -2.5, .infinity])
        let spec = UnitSpec(job: 7, unit: 3, options: JobOptions(className: "x", scales: [2, 3], windowAttention: .cross),
                            work: .windows(image: 4, scale: 1, windows: 0..<9, pixels: pixels, fewShot: false))
        let back = try WireMessage(frames: spec.encode().frames)
        XCTAssertEqual(back.type, .unit)
        XCTAssertEqual(try UnitSpec(decoding: back, imageSize: 1).work, .windows(image: 4, scale: 1, windows: 0..<9, pixels: pixels, fewShot: false))
        XCTAssertEqual(try FloatBlob.decode(try XCTUnwrap(try UnitSpec(decoding: back, imageSize: 1).work.imagePixels)), [1, -2.5, .infinity])
    }

    func testMalformedFramesAreErrors() {
        let good = WireMessage(type: .heartbeat).frames
        var wrongVersion = good
        wrongVersion[0][4] = 9
        var unknownType = good
        unknownType[0][6] = 200
        let cases: [[Data]] = [
            [], [Data()], [Data("WCLP".utf8), Data("{}".utf8)], [Data("XXXX\u{1}\u{0}\u{2}".utf8), Data("{}".utf8)],
            wrongVersion, unknownType,
        ]
        for frames in cases { XCTAssertThrowsError(try WireMessage(frames: frames)) }
        XCTAssertThrowsError(try WireMessage(frames: [good[0], Data("{not json".utf8)]).decode(Ready.self))
        XCTAssertThrowsError(try FloatBlob.decode(Data([1, 2, 3])))
    }

    /// Random bytes and truncated real messages thrown at a live coordinator: it drops them,
    /// stays up, and still runs a job afterwards.
    func testCoordinatorSurvivesGarbage() throws {
        let context = ZMQContext()
        let coordinator = BackgroundCoordinator(context: context, endpoint: "inproc://garbage-test")
        defer { coordinator.stop() }

        let peer = try ZMQSocket(context, .dealer)
        defer { peer.close() }
        try peer.connect("inproc://garbage-test")
        var rng = SystemRandomNumberGenerator()
        let real = WireMessage(.submit, SubmitRequest(options: JobOptions(className: "x", scales: [2]), referenceCount: 0, imageCount: 1, wantMaps: false)).frames
        for i in 0..<300 {
            var frames: [Data] = []
            switch i % 4 {
            case 0: frames = (0..<Int.random(in: 1...4, using: &rng)).map { _ in Data((0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
            case 1: frames = [real[0], real[1].prefix(Int.random(in: 0..<real[1].count, using: &rng))]
            case 2: frames = [real[0]] + [Data(real[1].map { $0 ^ UInt8.random(in: 0...3, using: &rng) })]
            default: frames = [Data(real[0].prefix(Int.random(in: 0...7, using: &rng)))]
            }
            try peer.send(frames)
        }
        // Still answering: a submit with an invalid option is refused with a reason.
        try peer.send(WireMessage(.submit, SubmitRequest(options: JobOptions(className: "", scales: [2]), referenceCount: 0, imageCount: 1, wantMaps: false)).frames)
        var refused: Refused?
        let deadline = Date().addingTimeInterval(10)
        while refused == nil && Date() < deadline {
            guard let frames = try peer.receive(timeoutMs: 200), let m = try? WireMessage(frames: frames) else { continue }
            if m.type == .refused { refused = try m.decode(Refused.self) }
        }
        XCTAssert(refused?.reason.contains("class name is empty") == true, "\(String(describing: refused))")
    }
}
