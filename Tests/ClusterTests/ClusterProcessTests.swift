import Foundation
import XCTest
import Protocol
import WinCLIP

/// The product as users run it: `winclip-coord serve`, `winclip-worker` processes and
/// `winclip-coord submit --config` on loopback TCP, against the embedded cluster and anomalib.
final class ClusterProcessTests: XCTestCase {
    let modelJSON = clusterFixtures.appendingPathComponent("tiny-vit-48.json").path
    let weights = clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors").path
    let dataset = clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path

    func writeConfig(_ dir: URL, port: Int, weights: String, name: String) throws -> String {
        let yaml = """
        coordinator:
          endpoint: tcp://127.0.0.1:\(port)
          heartbeat_seconds: 0.25
          worker_expiry_seconds: 3
        model:
          config: \(modelJSON)
          weights: \(weights)
        winclip:
          scales: [2, 3]
        """
        let path = dir.appendingPathComponent(name).path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testCoordinatorTwoWorkersAndSubmitMatchEmbeddedAndAnomalib() throws {
        let dir = try temporaryOutputFolder(self)
        let port = try freeLoopbackPort()
        // A third worker with other weights (one value changed): it must not serve the job.
        var foreign = try Data(contentsOf: URL(fileURLWithPath: weights))
        let projection = try byteOffset(of: "visual.proj", in: foreign)
        foreign[projection + 3] ^= 0x40  // flips an exponent bit of visual.proj[0, 0]
        let foreignPath = dir.appendingPathComponent("foreign.safetensors").path
        try foreign.write(to: URL(fileURLWithPath: foreignPath))
        let config = try writeConfig(dir, port: port, weights: weights, name: "cluster.yaml")
        let foreignConfig = try writeConfig(dir, port: port, weights: foreignPath, name: "foreign.yaml")

        var processes: [ManagedProcess] = []
        defer { processes.reversed().forEach { $0.stop() } }
        let coordinator = try ManagedProcess("winclip-coord", ["serve", "--config", config, "--verbose"], logDirectory: dir, name: "coordinator")
        processes.append(coordinator)
        XCTAssert(coordinator.waitForOutput("coordinator listening", seconds: 30), coordinator.output)
        var workers: [ManagedProcess] = []
        for (i, c) in [config, config, foreignConfig].enumerated() {
            let w = try ManagedProcess("winclip-worker", ["--config", c], logDirectory: dir, name: "worker\(i)")
            processes.append(w)
            workers.append(w)
        }
        for w in workers { XCTAssert(w.waitForOutput("serving", seconds: 30), w.output) }
        XCTAssert(coordinator.waitForOutput("3 worker(s)", seconds: 30), coordinator.output)

        // Few-shot, then zero-shot: two submits one after another on one coordinator.
        let clusterFew = dir.appendingPathComponent("cluster-2shot")
        let submit = try ManagedProcess("winclip-coord", ["submit", dataset, "--config", config, "--k-shot", "2", "--save-maps", "--output", clusterFew.path, "--quiet"],
                                        logDirectory: dir, name: "submit-2shot")
        XCTAssert(submit.wait(seconds: 180), "submit did not finish: \(submit.output)")
        XCTAssertEqual(submit.process.terminationStatus, 2, "exit 2: one image (the truncated PNG) has an error row: \(submit.output)")
        XCTAssert(submit.output.contains("not used for job"), "the foreign worker is refused with a reason: \(submit.output)")
        let clusterZero = dir.appendingPathComponent("cluster-0shot")
        let submit0 = try ManagedProcess("winclip-coord", ["submit", dataset, "--config", config, "--output", clusterZero.path, "--quiet", "--save-maps"],
                                         logDirectory: dir, name: "submit-0shot")
        XCTAssert(submit0.wait(seconds: 180), "submit did not finish: \(submit0.output)")
        XCTAssertEqual(submit0.process.terminationStatus, 2, submit0.output)
        // The second job of the same class and model reuses the first one's text embeddings:
        // the coordinator's log line (CoordinatorDiagnostic.setupFromCache) is what operators read.
        XCTAssert(coordinator.output.contains("text embeddings of 'tile' from cache"), coordinator.output)


        // Workers leave cleanly on SIGTERM.
        for w in workers {
            kill(w.process.processIdentifier, SIGTERM)
            XCTAssert(w.wait(seconds: 15), "worker did not stop on SIGTERM: \(w.output)")
            XCTAssertEqual(w.process.terminationStatus, 0, w.output)
            XCTAssert(w.output.contains("leaving"), w.output)
        }
        XCTAssert(coordinator.waitForOutput("said goodbye", seconds: 10), coordinator.output)
        // The foreign worker never computed a unit; the two others shared the work. A process's
        // log is all it shows: its last line (WorkerDiagnostic.leaving) is what is read here.
        XCTAssert(workers[2].output.contains("leaving after 0 unit(s)"), workers[2].output)
        for w in workers[0..<2] {
            XCTAssertFalse(w.output.contains("leaving after 0 unit(s)"), "both workers take units: \(w.output)")
        }

        // The embedded cluster on the same input, in process.
        for (shots, clusterOut) in [(2, clusterFew), (0, clusterZero)] {
            let embeddedOut = dir.appendingPathComponent("embedded-\(shots)shot")
            var o = SubmitOptions(dataset: dataset)
            o.config.model.config = modelJSON
            o.config.model.weights = weights
            o.kShot = shots
            o.saveMaps = true
            o.output = embeddedOut.path
            o.progress = false
            o.workers = 1  // vs two worker processes: equal to the bit
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            _ = try SubmitRunner.run(o, logger: logger, print: { _ in })
            try compare(cluster: clusterOut, embedded: embeddedOut, fewShot: shots > 0)
        }
    }


    func compare(cluster: URL, embedded: URL, fewShot: Bool) throws {
        let a = try readResults(cluster), b = try readResults(embedded)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        XCTAssertEqual(a.count, 5, "4 scored images and 1 corrupt file")
        // The truncated PNG is an error row; the job went on.
        let broken = try XCTUnwrap(a["test/crack/002.png"])
        XCTAssertNil(broken.score)
        XCTAssert(broken.error?.contains("truncated") == true, "\(String(describing: broken.error))")
        XCTAssertEqual(broken.label, 1)

        // Bit-identical to the embedded run, and within 1e-5 of anomalib.
        let expected = try SafeTensorsFile(path: clusterFixtures.appendingPathComponent("mvtec-tiny/tile.winclip.safetensors").path)
        let images = try JSONDecoder().decode([String].self, from: Data(expected.metadata["images"]!.utf8))
        let scores = try expected.floats(fewShot ? "few_scores" : "zero_scores")
        let maps = try expected.floats(fewShot ? "few_maps" : "zero_maps")
        let cells = maps.count / images.count
        for (i, image) in images.enumerated() {
            let ra = try XCTUnwrap(a[image]), rb = try XCTUnwrap(b[image])
            XCTAssertEqual(ra.score!.bitPattern, rb.score!.bitPattern, "\(image): cluster and embedded scores differ")
            XCTAssertEqual(ra.score!, scores[i], accuracy: 1e-5, "\(image) score vs anomalib")
            let ma = try readNPY(cluster.appendingPathComponent(ra.map!)), mb = try readNPY(embedded.appendingPathComponent(rb.map!))
            XCTAssertEqual(ma, mb, "\(image): cluster and embedded maps differ")
            XCTAssertEqual(ma.count, cells)
            let worst = zip(ma, maps[(i * cells)..<((i + 1) * cells)]).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-5, "\(image) map vs anomalib")
            XCTAssert(FileManager.default.fileExists(atPath: cluster.appendingPathComponent(ra.map!.replacingOccurrences(of: ".npy", with: ".png")).path))
        }
        // Image AUROC by hand: the fraction of (anomalous, normal) pairs ranked correctly.
        let labeled = images.map { (a[$0]!.score!, a[$0]!.label!) }
        var correct = 0.0, pairs = 0.0
        for (s1, l1) in labeled where l1 == 1 {
            for (s0, l0) in labeled where l0 == 0 {
                pairs += 1
                correct += s1 > s0 ? 1 : (s1 == s0 ? 0.5 : 0)
            }
        }
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: cluster.appendingPathComponent("metrics.json"))) as! [String: Any]
        XCTAssertEqual((metrics["image_auroc"] as! NSNumber).doubleValue, correct / pairs, accuracy: 1e-9)
        for key in ["image_f1_max", "pixel_auroc", "pixel_f1_max", "pixel_aupro"] {
            XCTAssertNotNil(metrics[key] as? NSNumber, "metrics.json has \(key)")
        }
    }
}

import Logging
@testable import Submit
