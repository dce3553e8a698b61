import Foundation
import XCTest
@testable import Outputs

/// Collects what the reporter prints; the clock is set by hand.
final class ProgressCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    private var now: TimeInterval = 100
    var text: String { lock.withLock { parts.joined() } }
    var count: Int { lock.withLock { parts.count } }
    func append(_ s: String) { lock.withLock { parts.append(s) } }
    func advance(_ seconds: TimeInterval) { lock.withLock { now += seconds } }
    func time() -> TimeInterval { lock.withLock { now } }

    func reporter(total: Int, interactive: Bool) -> ProgressReporter {
        ProgressReporter(total: total, interactive: interactive, clock: { self.time() }, output: { self.append($0) })
    }
}

final class ProgressReporterTests: XCTestCase {
    func testLogLinesEveryFiveSeconds() {
        let capture = ProgressCapture()
        let progress = capture.reporter(total: 100, interactive: false)
        capture.advance(1)
        progress.update(done: 5, failed: 0)
        XCTAssertEqual(capture.count, 0)
        capture.advance(4)
        progress.update(done: 20, failed: 1)
        XCTAssertEqual(capture.text, "progress: 20/100 images (20%), 1 failed, 4.0 images/s, ETA 0:20\n")
        capture.advance(2)
        progress.update(done: 30, failed: 1)
        XCTAssertEqual(capture.count, 1)
        capture.advance(18)
        progress.update(done: 100, failed: 2)
        progress.finish()
        progress.finish()
        progress.update(done: 100, failed: 2)
        XCTAssertEqual(capture.text.split(separator: "\n").last, "done: 100/100 images, 2 failed, in 0:25 (4.0 images/s)")
        XCTAssertEqual(capture.count, 3)
    }

    func testTerminalBarRedrawsInPlace() {
        let capture = ProgressCapture()
        let progress = capture.reporter(total: 10, interactive: true)
        progress.update(done: 0, failed: 0)
        XCTAssertEqual(capture.count, 0)  // at most every 0.1 s
        capture.advance(2)
        progress.update(done: 5, failed: 0)
        XCTAssertEqual(capture.text, "\r[###############---------------] 5/10 2.5 images/s, ETA 0:02\u{1B}[K")
        capture.advance(2)
        progress.update(done: 10, failed: 3)
        progress.finish()
        XCTAssertTrue(capture.text.hasSuffix(
            "\r[##############################] 10/10 (3 failed) 2.5 images/s, ETA 0:00\u{1B}[K\n"
            + "10/10 images, 3 failed, in 0:04 (2.5 images/s)\n"), capture.text)
        XCTAssertFalse(capture.text.dropLast().contains("\n\r"))
    }

    func testConcurrentUpdates() {
        let capture = ProgressCapture()
        let progress = capture.reporter(total: 1000, interactive: false)
        DispatchQueue.concurrentPerform(iterations: 1000) { i in
            if i % 100 == 0 { capture.advance(6) }
            progress.update(done: i + 1, failed: 0)
        }
        progress.finish()
        XCTAssertTrue(capture.text.hasSuffix(" images/s)\n"))
    }

    func testDurations() {
        XCTAssertEqual(ProgressReporter.duration(7), "0:07")
        XCTAssertEqual(ProgressReporter.duration(750), "12:30")
        XCTAssertEqual(ProgressReporter.duration(3723), "1:02:03")
    }
}
