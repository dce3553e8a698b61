import Foundation
import Synchronization
import Logging
import Options
import XCTest
import WinCLIP
@testable import Coordinator
@testable import Datasets
@testable import Outputs
@testable import Protocol
@testable import Submit
@testable import Transport
@testable import Worker
import ImageInput

/// A fresh folder under the system temp dir, removed when the test ends.
func temporaryOutputFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("ClusterTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// A small real PNG (written with the product's encoder) at `relative` under `root`.
@discardableResult
func writeTestPNG(_ root: URL, _ relative: String, width: Int = 4, height: Int = 3, seed: UInt8 = 0) throws -> URL {
    let url = root.appendingPathComponent(relative)
    let pixels = (0..<width * height * 3).map { UInt8(truncatingIfNeeded: $0 * 7 + Int(seed)) }
    try PNGEncoder.write(RGBImage(width: width, height: height, pixels: pixels), to: url)
    return url
}

func writeTestText(_ root: URL, _ relative: String, _ text: String = "not an image") throws {
    let url = root.appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
}

/// Test fixtures in the source tree (Tests/Fixtures), found from this file's path.
let clusterFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures")

func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count - 1, by: 2).map { i in
        UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16)!
    }
}

/// The tiny fixture model (tiny-vit-48) as the cluster tests run it.
struct TinyFixtureModel {
    let jsonPath = clusterFixtures.appendingPathComponent("tiny-vit-48.json").path
    let weightsPath = clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors").path
    let config: ModelConfig
    let model: CLIPModel
    let fingerprint: String

    init() throws {
        config = try ModelConfig.load(jsonPath)
        model = try CLIPModel(config: config, weightsPath: weightsPath)
        fingerprint = try ModelFingerprint.compute(config: config, weightsPath: weightsPath)
    }
}

/// One row of results.jsonl, as the tests read it.
struct ResultRow { let score: Float?; let label: Int?; let map: String?; let error: String? }

/// results.jsonl of an output folder, by image path.
func readResults(_ dir: URL) throws -> [String: ResultRow] {
    let text = try String(contentsOf: dir.appendingPathComponent("results.jsonl"), encoding: .utf8)
    var rows: [String: ResultRow] = [:]
    for line in text.split(separator: "\n") {
        let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        rows[o["image"] as! String] = ResultRow(score: (o["score"] as? NSNumber)?.floatValue, label: o["label"] as? Int,
                                                map: o["map"] as? String, error: o["error"] as? String)
    }
    return rows
}

/// A float32 .npy's values (header length from its preamble).
func readNPY(_ url: URL) throws -> [Float] {
    let data = try Data(contentsOf: url)
    let headerLength = Int(data[8]) | Int(data[9]) << 8
    return try FloatBlob.decode(data.subdata(in: (10 + headerLength)..<data.count))
}

/// Submit options for the tiny fixture model on an embedded cluster, writing to `output`.
func tinySubmitOptions(dataset: String, output: URL) -> SubmitOptions {
    var o = SubmitOptions(dataset: dataset)
    o.config.model.config = clusterFixtures.appendingPathComponent("tiny-vit-48.json").path
    o.config.model.weights = clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors").path
    o.progress = false
    o.workers = 1
    o.output = output.path
    return o
}

/// Runs `winclip-coord submit` in process, quietly; returns the output folder.
@discardableResult
func runSubmit(_ o: SubmitOptions) throws -> URL {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return try SubmitRunner.run(o, logger: logger, print: { _ in }).outputDirectory
}

/// Runs `winclip-coord submit` in process (embedded cluster) on the tiny fixture model.
func runTinySubmit(_ test: XCTestCase, dataset: String = clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path,
                   _ configure: (inout SubmitOptions) -> Void) throws -> URL {
    var o = tinySubmitOptions(dataset: dataset, output: try temporaryOutputFolder(test).appendingPathComponent("out"))
    configure(&o)
    return try runSubmit(o)
}

/// Asserts that an output folder's scores and maps equal anomalib's on mvtec-tiny/tile
/// (the fixture of the given window-attention mode) within 1e-5.
func assertEqualsAnomalib(_ out: URL, fewShot: Bool, mode: WindowAttention, file: StaticString = #filePath, line: UInt = #line) throws {
    let name = mode == .default ? "tile.winclip.safetensors" : "tile.winclip-\(mode.rawValue).safetensors"
    let expected = try SafeTensorsFile(path: clusterFixtures.appendingPathComponent("mvtec-tiny/\(name)").path)
    let images = try JSONDecoder().decode([String].self, from: Data(expected.metadata["images"]!.utf8))
    let scores = try expected.floats(fewShot ? "few_scores" : "zero_scores")
    let maps = try expected.floats(fewShot ? "few_maps" : "zero_maps")
    let cells = maps.count / images.count
    let rows = try readResults(out)
    for (i, image) in images.enumerated() {
        let row = try XCTUnwrap(rows[image], file: file, line: line)
        XCTAssertEqual(try XCTUnwrap(row.score, file: file, line: line), scores[i], accuracy: 1e-5, "\(image) score vs anomalib [\(mode.rawValue)]", file: file, line: line)
        let map = try readNPY(out.appendingPathComponent(try XCTUnwrap(row.map, file: file, line: line)))
        XCTAssertEqual(map.count, cells, file: file, line: line)
        let worst = zip(map, maps[(i * cells)..<((i + 1) * cells)]).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(worst, 1e-5, "\(image) map vs anomalib [\(mode.rawValue)]", file: file, line: line)
    }
}

/// Where a tensor's bytes start in a safetensors file.
func byteOffset(of name: String, in data: Data) throws -> Int {
    let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
    let entry = header[name] as! [String: Any]
    return 8 + headerLength + (entry["data_offsets"] as! [Int])[0]
}

/// A copy of the tiny fixture weights with every value of one tensor replaced (F32 tensors).
func tinyWeights(_ test: XCTestCase, setting tensor: String, to value: Float) throws -> URL {
    var data = try Data(contentsOf: clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors"))
    let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
    let offsets = (header[tensor] as! [String: Any])["data_offsets"] as! [Int]
    for i in stride(from: 8 + headerLength + offsets[0], to: 8 + headerLength + offsets[1], by: 4) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.replaceSubrange(i..<(i + 4), with: $0) }
    }
    let url = try temporaryOutputFolder(test).appendingPathComponent("weights.safetensors")
    try data.write(to: url)
    return url
}

/// A coordinator loop on its own thread, bound before `init` returns, stopped by `stop()`.
final class BackgroundCoordinator: Sendable {
    let endpoint: String
    private let stopSignal = StopSignal()
    private let done = DispatchSemaphore(value: 0)

    init(context: ZMQContext, endpoint: String, settings: CoordinatorSettings = CoordinatorSettings(), logLevel: Logger.Level = .critical) {
        var logger = Logger(label: "test-coordinator")
        logger.logLevel = logLevel
        let loop = CoordinatorLoop(context: context, endpoint: endpoint, settings: settings, logger: logger)
        let bound = DispatchSemaphore(value: 0)
        let (stop, done) = (stopSignal, done)
        Thread.detachNewThread {
            do { try loop.run(stop: stop, bound: { _ in bound.signal() }) } catch { XCTFail("coordinator: \(error)"); bound.signal() }
            done.signal()
        }
        bound.wait()
        self.endpoint = endpoint
    }

    func stop() {
        stopSignal.request()
        done.wait()
    }
}

/// A worker loop on its own thread with the tiny fixture model, stopped by `stop()`.
final class BackgroundWorker: Sendable {
    private let stopSignal = StopSignal()
    private let done = DispatchSemaphore(value: 0)

    init(context: ZMQContext, endpoint: String, model: TinyFixtureModel, name: String, settings: WorkerSettings = WorkerSettings()) throws {
        var logger = Logger(label: "test-worker")
        logger.logLevel = .critical
        let ready = Ready(fingerprint: model.fingerprint, model: model.config.name, imageSize: model.config.vision.imageSize,
                          gridSize: model.config.vision.gridSize, name: name)
        let loop = WorkerLoop(context: context, endpoint: endpoint, ready: ready, settings: settings, model: model.model,
                              backends: ComputeBackends(fp32: try OpenBLASBackend(threads: 1)), logger: logger)
        let (stop, done) = (stopSignal, done)
        Thread.detachNewThread {
            do { try loop.run(stop: stop) } catch { XCTFail("worker: \(error)") }
            done.signal()
        }
    }

    func stop() {
        stopSignal.request()
        done.wait()
    }
}

/// Collects a submit's answers (thread-safe: a test may read while the client runs).
final class CollectingSink: SubmitSink, Sendable {
    private let state = Mutex<[String: ScoringOutcome]>([:])
    var outcomes: [String: ScoringOutcome] { state.withLock { $0 } }
    func accepted(_ accepted: Accepted) {}
    func note(_ message: String) {}
    func image(_ item: DatasetItem, _ outcome: ScoringOutcome, picture: RGBImage?) throws {
        state.withLock { $0[item.relativePath] = outcome }
    }
    func score(_ image: String) -> Float? {
        if case .scored(let score, _)? = outcomes[image] { return score }
        return nil
    }
}
