import Foundation
import Logging
import Options
import Synchronization
import XCTest
@testable import WinCLIP
@testable import Coordinator
@testable import Datasets
@testable import Outputs
@testable import Protocol
@testable import Submit
@testable import Transport
@testable import Worker
@testable import ImageInput

/// Issue 17's "done when", small: the real coordinator loop, two honest workers on the tiny
/// fixture model and one broken worker beside them (it holds its units while it heartbeats,
/// answers NaN, or answers wrong shapes). Every score equals the undisturbed run's, nothing
/// fails, and the broken worker ends quarantined (its answers never count).
///
/// `BAD_WORKER_IMAGES=200` runs the issue's full size by hand (see the issue-17 note).
final class BadWorkerTests: XCTestCase {
    static let imageCount = ProcessInfo.processInfo.environment["BAD_WORKER_IMAGES"].flatMap(Int.init) ?? 24

    func testAWorkerThatHoldsItsUnitsDelaysNothing() throws { try run(.holds) }
    func testAWorkerThatAnswersNaNChangesNothing() throws { try run(.answersNaN) }
    func testAWorkerThatAnswersWrongShapesChangesNothing() throws { try run(.answersWrongShapes) }

    func run(_ fault: BrokenWorker.Fault) throws {
        let tiny = try TinyFixtureModel()
        let images = try temporaryOutputFolder(self).appendingPathComponent("images")
        try writeRandomImages(images, count: Self.imageCount)
        let dataset = try Dataset(path: images.path)

        var started = Date()
        let undisturbed = try score(dataset, tiny: tiny, fault: nil)
        let calm = Date().timeIntervalSince(started)
        started = Date()
        let disturbed = try score(dataset, tiny: tiny, fault: fault)
        let seconds = Date().timeIntervalSince(started)
        // The note's figures.
        print("BadWorkerTests \(fault): \(Self.imageCount) images in \(String(format: "%.1f", seconds)) s (undisturbed \(String(format: "%.1f", calm)) s)")

        XCTAssertEqual(disturbed.summary.scored, Self.imageCount)
        XCTAssertEqual(disturbed.summary.failed, 0)
        XCTAssertEqual(disturbed.summary.workers, ["honest-1", "honest-2"], "the broken worker's answers never count")
        XCTAssertEqual(undisturbed.scores.count, Self.imageCount)
        for (image, score) in undisturbed.scores {
            XCTAssertEqual(disturbed.scores[image]?.bitPattern, score.bitPattern, image)
        }
        XCTAssertGreaterThan(disturbed.brokenUnits, 0, "the broken worker was given units")
    }

    struct Run {
        var summary: JobSummary
        var scores: [String: Float]
        /// Units the broken worker received.
        var brokenUnits: Int
    }

    /// One job on a coordinator with two honest workers (and the broken one, when `fault`).
    func score(_ dataset: Dataset, tiny: TinyFixtureModel, fault: BrokenWorker.Fault?) throws -> Run {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let context = ZMQContext()
        var settings = CoordinatorSettings()
        settings.heartbeatInterval = 0.1
        settings.workerExpiry = 2
        settings.revealWorkerHosts = true
        settings.model = CoordinatorModel(config: tiny.config)  // as `serve` does: setup answers are checked for size
        // A short floor keeps the test quick; the figure in the note uses the default 10 s.
        if ProcessInfo.processInfo.environment["BAD_WORKER_IMAGES"] == nil { settings.setDeadlines(factor: 4, floor: 1, initial: 120) }
        let endpoint = "inproc://bad-worker-\(UUID().uuidString)"
        let coordinator = BackgroundCoordinator(context: context, endpoint: endpoint, settings: settings)
        defer { coordinator.stop() }
        // The broken worker first, so that it is there when the job starts (and takes units).
        let broken = try fault.map { try BrokenWorker(context: context, endpoint: endpoint, tiny: tiny, fault: $0) }
        defer { broken?.stop() }
        var workerSettings = WorkerSettings()
        workerSettings.heartbeatInterval = 0.1
        let honest = try (1...2).map { try BackgroundWorker(context: context, endpoint: endpoint, model: tiny, name: "honest-\($0)", settings: workerSettings) }
        defer { honest.forEach { $0.stop() } }

        let job = SubmitJob(items: dataset.items, references: [], options: JobOptions(className: "tile"), saveMaps: false, fingerprint: tiny.fingerprint)
        let sink = CollectingSink()
        let summary = try SubmitClient(context: context, endpoint: endpoint, logger: logger).run(job, sink: sink)
        var scores: [String: Float] = [:]
        for item in dataset.items { scores[item.relativePath] = sink.score(item.relativePath) }
        return Run(summary: summary, scores: scores.compactMapValues { $0 }, brokenUnits: broken?.unitsReceived ?? 0)
    }

    /// `count` small random PNGs (32 px) in a plain folder.
    func writeRandomImages(_ dir: URL, count: Int) throws {
        var rng = SplitMix64(seed: 17)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for i in 0..<count {
            let pixels = (0..<(32 * 32 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            try PNGEncoder.write(RGBImage(width: 32, height: 32, pixels: pixels), to: dir.appendingPathComponent(String(format: "%04d.png", i)))
        }
    }
}

/// A worker of the right model that computes nothing right: it announces itself, heartbeats,
/// and answers every UNIT according to its fault. It never reconnects (a quarantine sticks).
final class BrokenWorker: Sendable {
    enum Fault: String, Sendable {
        /// Takes units and never answers them (a hung driver).
        case holds
        /// Answers at once, with NaN of the right shapes.
        case answersNaN
        /// Answers at once, every blob one float longer than it should be.
        case answersWrongShapes
    }

    private let stopSignal = StopSignal()
    private let done = DispatchSemaphore(value: 0)
    private final class Counter: Sendable { let value = Mutex(0) }
    private let units = Counter()
    var unitsReceived: Int { units.value.withLock { $0 } }

    init(context: ZMQContext, endpoint: String, tiny: TinyFixtureModel, fault: Fault) throws {
        let socket = try ZMQSocket(context, .dealer)
        try socket.connect(endpoint)
        let ready = Ready(fingerprint: tiny.fingerprint, model: tiny.config.name, imageSize: tiny.config.vision.imageSize,
                          gridSize: tiny.config.vision.gridSize, name: "broken")
        try socket.send(WireMessage(.ready, ready).frames)
        let embed = tiny.config.embedDim
        let (stop, done, units) = (stopSignal, done, units)
        nonisolated(unsafe) let owned = socket
        Thread.detachNewThread {
            defer { owned.close(); done.signal() }
            var lastBeat = 0.0
            while !stop.isRequested {
                let now = Date().timeIntervalSince1970
                if now - lastBeat >= 0.1 {
                    _ = try? owned.send(WireMessage(type: .heartbeat).frames)
                    lastBeat = now
                }
                guard let frames = try? owned.receive(timeoutMs: 20), let message = try? WireMessage(frames: frames),
                      message.type == .unit, let spec = try? message.unitSpec() else { continue }
                units.value.withLock { $0 += 1 }
                if fault == .holds { continue }
                let counts: [Int]
                switch spec.work {
                case .text: counts = [embed, embed]
                case .references, .fullPass: counts = [1]
                case .windows(_, _, let windows, _, _): counts = [windows.count]
                }
                if fault == .answersNaN {
                    // Of the right shape: NaN passes the decoder; the coordinator refuses it.
                    let nan = { (n: Int) in [Float](repeating: .nan, count: n) }
                    let reply: UnitReply
                    switch spec.work {
                    case .text: reply = .text(TextVectors(normal: nan(embed), anomalous: nan(embed)))
                    case .references: reply = .failed("zero-shot only")
                    case .fullPass: reply = .fullPass(imageScore: .nan, fewShotPatches: nil)
                    case .windows(_, _, let windows, _, _): reply = .windows(zeroShot: nan(windows.count), fewShot: nil)
                    }
                    _ = try? owned.send(reply.encode(job: spec.job, unit: spec.unit, seconds: 0.001).frames)
                } else {
                    // Forged: one float too many in every blob, which the decoder refuses.
                    let blobs = counts.map { FloatBlob.encode([Float](repeating: 0.5, count: $0 + 1)) }
                    _ = try? owned.send(WireMessage(.result, UnitResult(job: spec.job, unit: spec.unit, seconds: 0.001), blobs: blobs).frames)
                }
            }
        }
    }

    func stop() {
        stopSignal.request()
        done.wait()
    }
}
