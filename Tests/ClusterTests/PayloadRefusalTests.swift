import Foundation
import Options
import XCTest
import Protocol
import WinCLIP
@testable import Worker

/// Payloads of the wrong shape where they arrive: the worker answers the unit with an error
/// naming the blob (so the coordinator re-queues it at once), and the coordinator refuses a
/// mis-sized IMAGE without harm to the job.
final class PayloadRefusalTests: XCTestCase {
    func testTheWorkerAnswersAMisSizedUnitAsThatUnitsError() throws {
        let tiny = try TinyFixtureModel()
        var executor = try UnitExecutor(model: tiny.model, backends: ComputeBackends(fp32: try OpenBLASBackend(threads: 1)))
        let s = tiny.config.vision.imageSize
        let options = JobOptions(className: "tile", task: .classification)
        let bad = UnitSpec(job: 4, unit: 9, options: options, work: .fullPass(image: 0, pixels: FloatBlob.encode([Float](repeating: 0, count: 3 * s * s - 1)), fewShot: false))
        let answer = try XCTUnwrap(executor.handle(bad.encode()))
        XCTAssertEqual(try answer.decode(UnitResult.self).job, 4)
        XCTAssertEqual(try answer.decode(UnitResult.self).unit, 9)
        let reply = try UnitReply(decoding: answer, answering: bad, shape: ReplyShape())
        XCTAssertEqual(reply, .failed("\(PayloadError.blobSize(.unit, blob: "pixels", expectedBytes: 12 * s * s, actualBytes: 12 * s * s - 4))"))

        // A good text unit: the real worker's answer decodes with the model's sizes.
        let text = UnitSpec(job: 4, unit: 10, options: options, work: .text)
        let shape = ReplyShape(embedDim: tiny.config.embedDim, visionWidth: tiny.config.vision.width, gridSize: tiny.config.vision.gridSize)
        guard case .text(let vectors) = try UnitReply(decoding: try XCTUnwrap(executor.handle(text.encode())), answering: text, shape: shape) else {
            return XCTFail("not a text answer")
        }
        XCTAssertEqual(vectors.normal.count, tiny.config.embedDim)

        // A CONTEXT of another embedding size is refused, naming the blob.
        let context = JobEmbeddings(job: 4, text: TextVectors(normal: [1, 2], anomalous: [1, 2]), references: nil).encode()
        XCTAssertThrowsError(try executor.storeContext(context)) {
            XCTAssertEqual($0 as? PayloadError, .blobSize(.context, blob: "normal", expectedBytes: 4 * tiny.config.embedDim, actualBytes: 8))
        }
    }

    func testTheCoordinatorRefusesAMisSizedImageAndTakesTheGoodOne() throws {
        var h = CoordinatorMachineTests.Harness()
        let w1 = PeerID("worker-1".utf8), c1 = PeerID("client-1".utf8)
        h.addWorker(w1)
        let job = try XCTUnwrap(h.submit(c1, images: 1, options: JobOptions(className: "tile", task: .classification))).job
        _ = h.answerAll(w1)
        let short = FloatBlob.encode([Float](repeating: 0.5, count: 5))
        h.receive(ImageUpload(job: job, index: 0, reference: false, content: .pixels(short)).encode(), from: c1)
        XCTAssertEqual(h.machine.unitCounts(of: job)?.pending, 0)
        XCTAssertEqual(h.machine.unitCounts(of: job)?.inFlight, 0, "nothing queued for it")
        h.sendImage(c1, job: job, index: 0)
        XCTAssertEqual(h.answerAll(w1).map(\.kind), [.full], "the same index, sent right, is scored")
        XCTAssertEqual(try h.take(c1, .imageResult).first?.score(), 0.25)
    }
}
