import Foundation
import Options
import XCTest
import Protocol

/// The typed payloads of Protocol: each message decodes to what was encoded (NaN included),
/// and every shape that does not match the body, the unit answered or the model is refused
/// with a `PayloadError` naming the blob.
final class PayloadTests: XCTestCase {
    let options = JobOptions(className: "tile", scales: [2, 3])
    /// Images of 2 px: pixel blobs of 3·2·2 floats.
    let size = 2
    var pixels: Data { FloatBlob.encode((0..<12).map { Float($0) / 7 }) }

    func assertRefused(_ expression: @autoclosure () throws -> Any, _ expected: PayloadError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertEqual(error as? PayloadError, expected, "\(error)", file: file, line: line)
        }
    }

    func unit(_ work: UnitWork) -> UnitSpec { UnitSpec(job: 3, unit: 5, options: options, work: work) }

    // MARK: - UNIT

    func testEveryUnitKindRoundTrips() throws {
        let works: [UnitWork] = [
            .text,
            .references(pixels: [pixels, FloatBlob.encode([Float](repeating: .nan, count: 12))]),
            .fullPass(image: 4, pixels: pixels, fewShot: true),
            .windows(image: 4, scale: 1, windows: 3..<7, pixels: pixels, fewShot: false),
        ]
        for work in works {
            let spec = unit(work)
            let back = try UnitSpec(decoding: try WireMessage(frames: spec.encode().frames), imageSize: size)
            XCTAssertEqual(back, spec, "\(work.kind)")
        }
    }

    func testUnitShapesAreRefused() {
        assertRefused(try UnitSpec(decoding: unit(.fullPass(image: 0, pixels: FloatBlob.encode([1, 2]), fewShot: false)).encode(), imageSize: size),
                      .blobSize(.unit, blob: "pixels", expectedBytes: 48, actualBytes: 8))
        assertRefused(try UnitSpec(decoding: unit(.references(pixels: [pixels, Data(count: 47)])).encode(), imageSize: size),
                      .blobSize(.unit, blob: "reference 1 pixels", expectedBytes: 48, actualBytes: 47))
        assertRefused(try UnitSpec(decoding: unit(.references(pixels: [])).encode(), imageSize: size),
                      .body(.unit, "references unit without images"))
        var text = unit(.text).encode()
        text.blobs.append(pixels)
        assertRefused(try UnitSpec(decoding: text, imageSize: size), .blobCount(.unit, expected: 0, actual: 1))
        var twoImages = unit(.windows(image: 0, scale: 0, windows: 0..<2, pixels: pixels, fewShot: false)).encode()
        twoImages.blobs.append(pixels)
        assertRefused(try UnitSpec(decoding: twoImages, imageSize: size), .blobCount(.unit, expected: 1, actual: 2))
        // A windows body without its range (forged).
        let body = #"{"job":3,"unit":5,"kind":"windows","options":{"class_name":"tile"},"image":0,"fewShot":false}"#
        let forged = WireMessage(type: .unit, body: Data(body.utf8), blobs: [pixels])
        assertRefused(try UnitSpec(decoding: forged, imageSize: size), .body(.unit, "windows unit without an image, a scale and a window range"))
        // Its address still reads, so that the worker's error answer reaches the unit.
        XCTAssertEqual(UnitSpec.address(of: forged)?.job, 3)
        XCTAssertEqual(UnitSpec.address(of: forged)?.unit, 5)
    }

    // MARK: - RESULT

    let shape = ReplyShape(embedDim: 2, visionWidth: 3, gridSize: 2, windowsPerScale: [4, 1], referenceCount: 1)

    func testEveryReplyRoundTripsNaNIncluded() throws {
        let cases: [(UnitWork, UnitReply)] = [
            (.text, .text(TextVectors(normal: [1, .nan], anomalous: [-0.0, .infinity]))),
            (.references(pixels: [pixels]), .references(ReferenceVectors(count: 1, patchTokens: [Float](repeating: 0.5, count: 12),
                                                                         windows: [[Float](repeating: .nan, count: 8), [1, 2]]))),
            (.fullPass(image: 0, pixels: pixels, fewShot: true), .fullPass(imageScore: .nan, fewShotPatches: [1, 2, 3, .nan])),
            (.fullPass(image: 0, pixels: pixels, fewShot: false), .fullPass(imageScore: 0.25, fewShotPatches: nil)),
            (.windows(image: 0, scale: 0, windows: 1..<3, pixels: pixels, fewShot: true), .windows(zeroShot: [.nan, 1], fewShot: [2, 3])),
            (.windows(image: 0, scale: 0, windows: 1..<3, pixels: pixels, fewShot: false), .windows(zeroShot: [0, 1], fewShot: nil)),
            (.text, .failed("out of memory")),
        ]
        for (work, reply) in cases {
            let message = try WireMessage(frames: reply.encode(job: 3, unit: 5, seconds: 0.5).frames)
            XCTAssertEqual(try UnitReply(decoding: message, answering: unit(work), shape: shape), reply, "\(reply)")
        }
        // Bit for bit: 0 and -0 differ, the same NaN is the same.
        XCTAssertNotEqual(UnitReply.text(TextVectors(normal: [0], anomalous: [0])), .text(TextVectors(normal: [-0.0], anomalous: [0])))
    }

    func testReplyShapesAreRefused() {
        func decode(_ message: WireMessage, _ work: UnitWork, _ shape: ReplyShape? = nil) throws -> UnitReply {
            try UnitReply(decoding: message, answering: unit(work), shape: shape ?? self.shape)
        }
        func forged(_ blobs: [[Float]]) -> WireMessage { WireMessage(.result, UnitResult(job: 3, unit: 5), blobs: blobs.map(FloatBlob.encode)) }
        assertRefused(try decode(forged([[1, 2]]), .text), .blobCount(.result, expected: 2, actual: 1))
        assertRefused(try decode(forged([[1, 2, 3], [1, 2, 3]]), .text), .blobSize(.result, blob: "normal", expectedBytes: 8, actualBytes: 12))
        // Without the model's sizes: both vectors of one length, whole floats.
        assertRefused(try decode(forged([[1, 2, 3], [1]]), .text, ReplyShape()), .blobSize(.result, blob: "anomalous", expectedBytes: 12, actualBytes: 4))
        let ragged = WireMessage(.result, UnitResult(job: 3, unit: 5), blobs: [Data(count: 6), Data(count: 6)])
        assertRefused(try decode(ragged, .text, ReplyShape()), .ragged(.result, blob: "normal", rowBytes: 4, actualBytes: 6))
        let refs = UnitWork.references(pixels: [pixels])
        assertRefused(try decode(forged([[Float](repeating: 0, count: 12), [0]]), refs), .blobCount(.result, expected: 3, actual: 2))
        assertRefused(try decode(forged([[0], [Float](repeating: 0, count: 8), [0, 0]]), refs),
                      .blobSize(.result, blob: "patch tokens", expectedBytes: 48, actualBytes: 4))
        assertRefused(try decode(forged([[Float](repeating: 0, count: 12), [Float](repeating: 0, count: 8), [0]]), refs),
                      .blobSize(.result, blob: "windows of scale 3", expectedBytes: 8, actualBytes: 4))
        let full = UnitWork.fullPass(image: 0, pixels: pixels, fewShot: true)
        assertRefused(try decode(forged([[0.5]]), full), .blobCount(.result, expected: 2, actual: 1))
        assertRefused(try decode(forged([[0.5, 0.5], [1, 2, 3, 4]]), full), .blobSize(.result, blob: "image score", expectedBytes: 4, actualBytes: 8))
        assertRefused(try decode(forged([[0.5], [1, 2, 3]]), full), .blobSize(.result, blob: "few-shot patch scores", expectedBytes: 16, actualBytes: 12))
        assertRefused(try decode(forged([[0.5], [1]]), .fullPass(image: 0, pixels: pixels, fewShot: false)), .blobCount(.result, expected: 1, actual: 2))
        let windows = UnitWork.windows(image: 0, scale: 1, windows: 0..<3, pixels: pixels, fewShot: true)
        assertRefused(try decode(forged([[1, 2, 3], [1, 2]]), windows), .blobSize(.result, blob: "few-shot window scores", expectedBytes: 12, actualBytes: 8))
        assertRefused(try decode(forged([[1, 2], [1, 2, 3]]), windows), .blobSize(.result, blob: "zero-shot window scores", expectedBytes: 12, actualBytes: 8))
        let otherUnit = UnitReply.fullPass(imageScore: 1, fewShotPatches: nil).encode(job: 3, unit: 6)
        assertRefused(try decode(otherUnit, .fullPass(image: 0, pixels: pixels, fewShot: false)),
                      .body(.result, "answers unit 6 of job 3, not unit 5 of job 3"))
    }

    // MARK: - CONTEXT

    func testContextRoundTripsAndShapesAreRefused() throws {
        let text = TextVectors(normal: [1, 2], anomalous: [3, .nan])
        let zero = JobEmbeddings(job: 9, text: text, references: nil)
        let few = JobEmbeddings(job: 9, text: text, references: ReferenceVectors(count: 2, patchTokens: [Float](repeating: 1, count: 2 * 4 * 3),
                                                                                   windows: [[Float](repeating: 2, count: 8), [1, 2, 3, 4]]))
        func decode(_ message: WireMessage) throws -> JobEmbeddings {
            try JobEmbeddings(decoding: try WireMessage(frames: message.frames), embedDim: 2, gridSize: 2, visionWidth: 3)
        }
        XCTAssertEqual(try decode(zero.encode()), zero)
        XCTAssertEqual(try decode(few.encode()), few)
        var extra = zero.encode()
        extra.blobs.append(FloatBlob.encode([1]))
        assertRefused(try decode(extra), .blobCount(.context, expected: 2, actual: 3))
        assertRefused(try decode(JobEmbeddings(job: 9, text: TextVectors(normal: [1], anomalous: [1]), references: nil).encode()),
                      .blobSize(.context, blob: "normal", expectedBytes: 8, actualBytes: 4))
        var noWindows = few
        noWindows.references!.windows = []
        assertRefused(try decode(noWindows.encode()), .blobCount(.context, expected: 4, actual: 3))
        var shortPatches = few
        shortPatches.references!.patchTokens = [1]
        assertRefused(try decode(shortPatches.encode()), .blobSize(.context, blob: "patch tokens", expectedBytes: 96, actualBytes: 4))
        var raggedWindows = few
        raggedWindows.references!.windows[1] = [1, 2, 3]
        assertRefused(try decode(raggedWindows.encode()), .ragged(.context, blob: "windows of scale index 1", rowBytes: 16, actualBytes: 12))
    }

    // MARK: - IMAGE and IMAGE_RESULT

    func testImagesRoundTripAndShapesAreRefused() throws {
        for upload in [ImageUpload(job: 2, index: 1, reference: true, content: .pixels(pixels)),
                       ImageUpload(job: 2, index: 3, reference: false, content: .skipped)] {
            XCTAssertEqual(try ImageUpload(decoding: try WireMessage(frames: upload.encode().frames), imageSize: size), upload)
        }
        assertRefused(try ImageUpload(decoding: ImageUpload(job: 2, index: 1, reference: false, content: .pixels(Data(count: 40))).encode(), imageSize: size),
                      .blobSize(.image, blob: "pixels", expectedBytes: 48, actualBytes: 40))
        assertRefused(try ImageUpload(decoding: WireMessage(.image, ImageItem(job: 2, index: 1, reference: false)), imageSize: size),
                      .blobCount(.image, expected: 1, actual: 0))
        assertRefused(try ImageUpload(decoding: WireMessage(.image, ImageItem(job: 2, index: 1, reference: false, skipped: true), blobs: [pixels]), imageSize: size),
                      .blobCount(.image, expected: 0, actual: 1))
    }

    func testImageAnswersRoundTripAndShapesAreRefused() throws {
        let map = (0..<4).map { Float($0) }
        for answer in [ImageAnswer(job: 2, index: 1, verdict: .scored(score: .nan, map: map)),
                       ImageAnswer(job: 2, index: 1, verdict: .scored(score: 0.5, map: nil)),
                       ImageAnswer(job: 2, index: 1, verdict: .failed("unreadable"))] {
            let back = try ImageAnswer(decoding: try WireMessage(frames: answer.encode().frames), imageSize: size)
            XCTAssertEqual(back.job, answer.job)
            XCTAssertEqual(back.index, answer.index)
            switch (back.verdict, answer.verdict) {
            case (.scored(let s, let m), .scored(let t, let n)):
                XCTAssertEqual(s.bitPattern, t.bitPattern)
                XCTAssertEqual(m, n)
            case (.failed(let a), .failed(let b)): XCTAssertEqual(a, b)
            default: XCTFail("\(back.verdict) is not \(answer.verdict)")
            }
        }
        assertRefused(try ImageAnswer(decoding: ImageAnswer(job: 2, index: 1, verdict: .scored(score: 1, map: [1, 2])).encode(), imageSize: size),
                      .blobSize(.imageResult, blob: "map", expectedBytes: 16, actualBytes: 8))
        let three = WireMessage(.imageResult, ImageOutcome(job: 2, index: 1), blobs: [FloatBlob.encode([1]), FloatBlob.encode(map), FloatBlob.encode([1])])
        assertRefused(try ImageAnswer(decoding: three, imageSize: size), .blobCount(.imageResult, expected: 2, actual: 3))
        let none = WireMessage(.imageResult, ImageOutcome(job: 2, index: 1))
        assertRefused(try ImageAnswer(decoding: none, imageSize: size), .blobCount(.imageResult, expected: 2, actual: 0))
        let failedWithScore = WireMessage(.imageResult, ImageOutcome(job: 2, index: 1, error: "x"), blobs: [FloatBlob.encode([1])])
        assertRefused(try ImageAnswer(decoding: failedWithScore, imageSize: size), .blobCount(.imageResult, expected: 0, actual: 1))
    }
}
