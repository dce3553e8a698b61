import Foundation
import Hub
import HubTestSupport
import Logging
import XCTest
import Protocol
import WinCLIP
@testable import Configuration
@testable import Submit

/// Weights from a (fake) hub through the programs as users run them: `fetch-weights`, then
/// `submit --weights hf://...`, then a rack whose worker reads `model.weights: hf://...` from
/// cluster.yaml with the hub gone.
final class HubWeightsTests: XCTestCase {
    let modelJSON = clusterFixtures.appendingPathComponent("tiny-vit-48.json").path
    let weights = clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors")
    let dataset = clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path
    let uri = "hf://winclip/tiny-vit-48/open_clip_model.safetensors"

    /// This process's environment with HF_* pointing at a temporary cache and `hub`.
    func environment(home: URL, hub: FakeHub?, offline: Bool = false) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("HF_") && !$0.key.hasPrefix("HUGGING") }
        env["HF_HOME"] = home.path
        env["HF_HUB_CACHE"] = home.appendingPathComponent("hub").path
        env["HF_ENDPOINT"] = hub?.endpoint ?? "http://127.0.0.1:9"
        if offline { env["HF_HUB_OFFLINE"] = "1" }
        return env
    }

    func scores(_ dir: URL) throws -> [String: Double] {
        let text = try String(contentsOf: dir.appendingPathComponent("results.jsonl"), encoding: .utf8)
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            if let s = o["score"] as? NSNumber { out[o["image"] as! String] = s.doubleValue }
        }
        return out
    }

    /// The embedded cluster on the local fixture file, in process.
    func localRun(_ dir: URL, kShot: Int) throws -> [String: Double] {
        var o = SubmitOptions(dataset: dataset)
        o.config.model.config = modelJSON
        o.config.model.weights = weights.path
        o.kShot = kShot
        o.output = dir.path
        o.progress = false
        o.workers = 1
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        _ = try SubmitRunner.run(o, logger: logger, print: { _ in })
        return try scores(dir)
    }

    func testFetchWeightsThenSubmitWithHubWeightsScoresAsTheLocalFile() throws {
        let dir = try temporaryOutputFolder(self)
        let hub = try FakeHub(files: ["winclip/tiny-vit-48/open_clip_model.safetensors": weights])
        defer { hub.stop() }
        let env = environment(home: dir, hub: hub)

        // fetch-weights: downloads into the cache, prints the path and the fingerprint.
        let fetch = try ManagedProcess("winclip-coord", ["fetch-weights", "--model-config", modelJSON, "--weights", uri],
                                       logDirectory: dir, name: "fetch", environment: env)
        XCTAssert(fetch.wait(seconds: 120), fetch.output)
        XCTAssertEqual(fetch.process.terminationStatus, 0, fetch.output)
        let lines = fetch.output.split(separator: "\n").map(String.init)
        let path = try XCTUnwrap(lines.first { $0.hasPrefix("weights: ") }).dropFirst("weights: ".count)
        XCTAssert(path.hasPrefix(dir.appendingPathComponent("hub/models--winclip--tiny-vit-48/snapshots/").path), String(path))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: String(path))), try Data(contentsOf: weights))
        let expected = try ModelFingerprint.compute(config: ModelConfig.load(modelJSON), weightsPath: weights.path)
        XCTAssert(lines.contains("fingerprint: \(expected)"), fetch.output)
        XCTAssert(fetch.output.contains("downloaded 3.7 MB"), fetch.output)
        let afterFetch = try hub.requests().count
        XCTAssertEqual(afterFetch, 2, "HEAD on the hub, GET on the CDN")

        // submit with hf:// weights: served from the cache with no request, scores equal to
        // the local file's.
        let hubOut = dir.appendingPathComponent("hub-run")
        let submit = try ManagedProcess("winclip-coord", ["submit", dataset, "--model-config", modelJSON, "--weights", uri, "--k-shot", "1",
                                                          "--workers", "1", "--output", hubOut.path, "--quiet"],
                                        logDirectory: dir, name: "submit", environment: env)
        XCTAssert(submit.wait(seconds: 180), submit.output)
        XCTAssertEqual(submit.process.terminationStatus, 2, "one truncated image: \(submit.output)")
        XCTAssertEqual(try hub.requests().count, afterFetch, "a cached file costs no request")
        let fromHub = try scores(hubOut)
        XCTAssertEqual(fromHub.count, 4)
        XCTAssertEqual(fromHub, try localRun(dir.appendingPathComponent("local-run"), kShot: 1))

        // Unknown repository: a clear error, exit status 1.
        let missing = try ManagedProcess("winclip-coord", ["fetch-weights", "--model-config", modelJSON, "--weights", "hf://winclip/missing/open_clip_model.safetensors"],
                                         logDirectory: dir, name: "missing", environment: env)
        XCTAssert(missing.wait(seconds: 60), missing.output)
        XCTAssertEqual(missing.process.terminationStatus, 1)
        XCTAssert(missing.output.contains("error: repository winclip/missing not found on the hub"), missing.output)
    }

    func testTwoProcessesFetchingOneFileDownloadItOnce() throws {
        let dir = try temporaryOutputFolder(self)
        // 3.7 MB in 16 KiB chunks every 10 ms: about 2 s, so that the two overlap.
        let hub = try FakeHub(files: ["winclip/tiny-vit-48/open_clip_model.safetensors": weights], options: ["--chunk-delay", "0.01"])
        defer { hub.stop() }
        let env = environment(home: dir, hub: hub)
        let fetches = try (0..<2).map {
            try ManagedProcess("winclip-coord", ["fetch-weights", "--model-config", modelJSON, "--weights", uri],
                               logDirectory: dir, name: "fetch\($0)", environment: env)
        }
        for f in fetches {
            XCTAssert(f.wait(seconds: 120), f.output)
            XCTAssertEqual(f.process.terminationStatus, 0, f.output)
        }
        XCTAssertEqual(try hub.requests().filter { $0.server == "cdn" }.count, 1, "one body download")
        XCTAssert(fetches.contains { $0.output.contains("waiting for another process downloading open_clip_model.safetensors") },
                  fetches.map(\.output).joined(separator: "\n"))
        let paths = fetches.map { $0.output.split(separator: "\n").first { $0.hasPrefix("weights: ") } }
        XCTAssertEqual(paths[0], paths[1])
    }

    func testRackWorkerReadsHubWeightsFromClusterYAMLOffline() throws {
        let dir = try temporaryOutputFolder(self)
        // Seed the cache, then take the hub away: the rack runs offline from the cache.
        let hub = try FakeHub(files: ["winclip/tiny-vit-48/open_clip_model.safetensors": weights])
        let seeded = try WeightsResolver.resolve(modelConfig: modelJSON, pretrained: nil, weights: uri, environment: environment(home: dir, hub: hub))
        hub.stop()
        let env = environment(home: dir, hub: hub, offline: true)

        let port = try freeLoopbackPort()
        let yaml = """
        coordinator:
          endpoint: tcp://127.0.0.1:\(port)
          heartbeat_seconds: 0.25
        model:
          config: \(modelJSON)
          weights: \(uri)
        """
        let config = dir.appendingPathComponent("cluster.yaml")
        try yaml.write(to: config, atomically: true, encoding: .utf8)
        let parsed = try ClusterConfig.load(path: config.path)
        XCTAssertEqual(parsed.model.weights, uri, "a hub URI is not taken for a path relative to the YAML")

        var processes: [ManagedProcess] = []
        defer { processes.reversed().forEach { $0.stop() } }
        let coordinator = try ManagedProcess("winclip-coord", ["serve", "--config", config.path], logDirectory: dir, name: "coordinator", environment: env)
        processes.append(coordinator)
        let worker = try ManagedProcess("winclip-worker", ["--config", config.path], logDirectory: dir, name: "worker", environment: env)
        processes.append(worker)
        XCTAssert(worker.waitForOutput("serving", seconds: 60), worker.output)
        XCTAssert(worker.output.contains(seeded.path.path), "the worker loads the cached snapshot: \(worker.output)")

        // The submitter finds the same weights in its cache: the job requires their fingerprint,
        // which the worker announces.
        let out = dir.appendingPathComponent("rack-run")
        let submit = try ManagedProcess("winclip-coord", ["submit", dataset, "--config", config.path, "--output", out.path, "--quiet", "--verbose"],
                                        logDirectory: dir, name: "submit", environment: env)
        XCTAssert(submit.wait(seconds: 180), submit.output)
        XCTAssertEqual(submit.process.terminationStatus, 2, "one truncated image: \(submit.output)")
        let fingerprint = try ModelFingerprint.compute(config: ModelConfig.load(modelJSON), weightsPath: weights.path)
        XCTAssert(submit.output.contains("jobs require model fingerprint \(fingerprint)"), submit.output)
        XCTAssertEqual(try scores(out), try localRun(dir.appendingPathComponent("local-run"), kShot: 0))
    }

    func testClusterYAMLPretrainedTag() throws {
        let c = try ClusterConfig.parse("model:\n  config: ViT-B-16\n  pretrained: laion400m_e32\n", baseDirectory: URL(fileURLWithPath: "/etc/winclip"))
        XCTAssertEqual(c.model.pretrained, "laion400m_e32")
        XCTAssertNil(c.model.weights)
        let d = try ClusterConfig.parse("model:\n  weights: w/model.safetensors\n", baseDirectory: URL(fileURLWithPath: "/etc/winclip"))
        XCTAssertEqual(d.model.weights, "/etc/winclip/w/model.safetensors")
    }
}
