import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
import WinCLIP
@testable import CLI
@testable import Protocol
import ImageInput

/// The operator's view of a real rack: `winclip-coord serve` with `metrics_endpoint` and two
/// `winclip-worker`s (all with `--log-format json`) run one job; then Debian's Prometheus
/// scrapes it, `status --json` lists the workers, headless Chromium shows the status page,
/// and every log line parses as JSON. One rack serves the whole class (started by the first
/// test, stopped after the last).
final class OperatorProcessTests: XCTestCase {
    static let dataset = clusterFixtures.appendingPathComponent("mvtec-tiny/tile").path

    /// The running rack and what its job did.
    final class Rack {
        let dir: URL
        let config: String
        let metricsPort: Int
        var processes: [ManagedProcess] = []
        var coordinator: ManagedProcess { processes[0] }
        var workers: [ManagedProcess] { Array(processes[1...2]) }
        /// results.jsonl of the job: rows with a score, rows with an error.
        var scored = 0, failed = 0
        var submitStderr = ""

        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("winclip-operator-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            metricsPort = try freeLoopbackPort()
            let yaml = """
            coordinator:
              endpoint: tcp://127.0.0.1:\(try freeLoopbackPort())
              heartbeat_seconds: 0.25
              worker_expiry_seconds: 3
              metrics_endpoint: 127.0.0.1:\(metricsPort)
            model:
              config: \(clusterFixtures.appendingPathComponent("tiny-vit-48.json").path)
              weights: \(clusterFixtures.appendingPathComponent("tiny-vit-48.safetensors").path)
            """
            config = dir.appendingPathComponent("cluster.yaml").path
            try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        }

        func start() throws {
            processes.append(try ManagedProcess("winclip-coord", ["serve", "--config", config, "--log-format", "json"], logDirectory: dir, name: "coordinator"))
            guard coordinator.waitForOutput("coordinator listening", seconds: 30) else { throw RackError("coordinator: \(coordinator.output)") }
            for i in 0..<2 {
                processes.append(try ManagedProcess("winclip-worker", ["--config", config, "--log-format", "json"], logDirectory: dir, name: "worker\(i)"))
            }
            guard coordinator.waitForOutput("2 worker(s)", seconds: 60) else { throw RackError("workers: \(coordinator.output)") }
            let output = dir.appendingPathComponent("job")
            let submit = try runProgram("winclip-coord", ["submit", OperatorProcessTests.dataset, "--config", config, "--output", output.path, "--log-format", "json", "--verbose"], timeout: 180)
            submitStderr = submit.stderr
            guard submit.status == 2 else { throw RackError("submit: exit \(submit.status) (2 expected: one truncated PNG): \(submit.stderr)") }
            for line in try String(contentsOf: output.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n") {
                if line.contains("\"error\"") { failed += 1 } else { scored += 1 }
            }
        }

        func stop() { processes.reversed().forEach { $0.stop() } }
    }

    struct RackError: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    nonisolated(unsafe) static var shared: Result<Rack, Error>?

    func rack() throws -> Rack {
        if Self.shared == nil {
            Self.shared = Result {
                let rack = try Rack()
                do { try rack.start() } catch { rack.stop(); throw error }
                return rack
            }
        }
        return try Self.shared!.get()
    }

    override class func tearDown() {
        if case .success(let rack)? = shared {
            rack.stop()
            try? FileManager.default.removeItem(at: rack.dir)
        }
        shared = nil
        super.tearDown()
    }

    // MARK: - Tests

    func testPrometheusScrapesTheJobsImageCount() throws {
        let prometheus = "/usr/bin/prometheus"
        guard FileManager.default.isExecutableFile(atPath: prometheus) else {
            throw XCTSkip("prometheus is not installed (Debian package prometheus; .ci/run installs it)")
        }
        let rack = try rack()
        let dir = rack.dir.appendingPathComponent("prometheus")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        let config = """
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: winclip
            static_configs:
              - targets: ['127.0.0.1:\(rack.metricsPort)']
        """
        try config.write(to: dir.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        let server = try ManagedProcess(prometheus, ["--config.file=\(dir.appendingPathComponent("prometheus.yml").path)",
                                                     "--storage.tsdb.path=\(dir.appendingPathComponent("data").path)",
                                                     "--web.listen-address=127.0.0.1:\(port)"],
                                        logDirectory: dir, name: "prometheus", absolutePath: true)
        defer { server.stop() }
        func query(_ promql: String) -> Double? {
            var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
            components.queryItems = [URLQueryItem(name: "query", value: promql)]
            guard let data = httpGet(components.url!),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let result = (object["data"] as? [String: Any])?["result"] as? [[String: Any]],
                  let value = result.first?["value"] as? [Any], let text = value.last as? String else { return nil }
            return Double(text)
        }
        // Bounded polling: Prometheus starts, then scrapes every second.
        var total: Double?
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            total = query("sum(winclip_images_total)")
            if total != nil { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        XCTAssertEqual(total, Double(rack.scored + rack.failed), "every image of the job: \(server.output)")
        XCTAssertEqual(query("sum(winclip_images_total{outcome=\"scored\"})"), Double(rack.scored))
        XCTAssertEqual(query("winclip_workers{state=\"idle\"}"), 2)
        XCTAssertEqual(query("sum(winclip_units_total{outcome=\"ok\"}) > 0"), query("sum(winclip_unit_seconds_count)"), "every unit answered is timed")
        XCTAssertGreaterThan(query("winclip_bytes_total{direction=\"in\"}") ?? 0, 0)
        print("prometheus: sum(winclip_images_total) = \(total ?? -1); job: \(rack.scored) scored, \(rack.failed) failed")
    }

    func testStatusJSONListsTheLiveWorkers() throws {
        let rack = try rack()
        let result = try runProgram("winclip-coord", ["status", "--config", rack.config, "--json"], timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr)
        let status = try JSONDecoder().decode(RackStatus.self, from: Data(result.stdout.utf8))
        XCTAssertEqual(status.workers.count, 2, result.stdout)
        XCTAssertEqual(Set(status.workers.map(\.state)), [.idle])
        XCTAssertEqual(status.workers.reduce(0) { $0 + $1.unitsDone } > 0, true)
        XCTAssertEqual(status.jobs, [], "the job is over")
        let text = try runProgram("winclip-coord", ["status", "--config", rack.config], timeout: 30)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssert(text.stdout.contains("WORKERS") && text.stdout.contains("idle"), text.stdout)
        // --watch answers again and again until interrupted.
        let watch = try ManagedProcess("winclip-coord", ["status", "--config", rack.config, "--watch", "--interval", "0.2", "--json"],
                                       logDirectory: rack.dir, name: "status-watch")
        var answers = 0
        for _ in 0..<200 where answers < 3 {
            answers = watch.output.split(separator: "\n").filter { $0.hasPrefix("{") }.count
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertGreaterThanOrEqual(answers, 3, watch.output)
        kill(watch.process.processIdentifier, SIGINT)
        XCTAssert(watch.wait(seconds: 10), "--watch stops on SIGINT")
        XCTAssertEqual(watch.process.terminationStatus, 0, watch.output)
        // Nobody there: a clear error, not a hang.
        let lost = try runProgram("winclip-coord", ["status", "--endpoint", "tcp://127.0.0.1:\(try freeLoopbackPort())", "--timeout", "1"], timeout: 30)
        XCTAssertEqual(lost.status, 1)
        XCTAssert(lost.stderr.contains("no answer from the coordinator"), lost.stderr)
    }

    func testStatusPageInChromium() throws {
        let browser = "/usr/bin/chromium"
        guard FileManager.default.isExecutableFile(atPath: browser) else { throw XCTSkip("chromium is not installed (.ci/run installs it)") }
        let rack = try rack()
        let url = "http://127.0.0.1:\(rack.metricsPort)/"
        let profile = rack.dir.appendingPathComponent("chromium-profile").path
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)", "--virtual-time-budget=5000"]
        let dom = try runProgram(browser, flags + ["--dump-dom", url], timeout: 90, absolutePath: true).stdout
        XCTAssert(dom.contains("data-loaded=\"yes\""), "the page fetched status.json: \(dom.prefix(2000))")
        XCTAssertEqual(dom.components(separatedBy: "data-state=\"idle\"").count - 1, 2, "two idle workers")
        XCTAssert(dom.contains("<b id=\"count-workers\">2</b>"), String(dom.prefix(3000)))
        let shot = rack.dir.appendingPathComponent("status-page.png")
        _ = try runProgram(browser, flags + ["--hide-scrollbars", "--window-size=1100,900", "--screenshot=\(shot.path)", url], timeout: 90, absolutePath: true)
        let image = try PNGDecoder.decode(Data(contentsOf: shot), path: shot.path)
        var colours = Set<UInt32>(), notBackground = 0
        for i in 0..<(image.width * image.height) {
            let r = image.pixels[3 * i], g = image.pixels[3 * i + 1], b = image.pixels[3 * i + 2]
            colours.insert(UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b))
            if abs(Int(r) - 0xf6) > 6 || abs(Int(g) - 0xf7) > 6 || abs(Int(b) - 0xf9) > 6 { notBackground += 1 }
        }
        let share = Double(notBackground) / Double(image.width * image.height)
        print("status page screenshot \(shot.path): \(image.width)x\(image.height), \(colours.count) colours, \(String(format: "%.1f", 100 * share))% not background")
        XCTAssertGreaterThan(colours.count, 20, "text and tables")
        XCTAssertGreaterThan(share, 0.05)
    }

    /// Every line the three programs wrote parses as one JSON object with time, level and
    /// message; the coordinator's name their jobs and workers as fields. A worker stopped with
    /// SIGTERM drains (finishes, says BYE) and its last lines are JSON too.
    func testEveryLogLineIsJSONAndWorkersDrainOnSIGTERM() throws {
        let rack = try rack()
        let worker = try ManagedProcess("winclip-worker", ["--config", rack.config, "--log-format", "json"], logDirectory: rack.dir, name: "worker-drained")
        XCTAssert(rack.coordinator.waitForOutput("3 worker(s)", seconds: 60), rack.coordinator.output)
        kill(worker.process.processIdentifier, SIGTERM)
        XCTAssert(worker.wait(seconds: 30), worker.output)
        XCTAssertEqual(worker.process.terminationStatus, 0, worker.output)
        XCTAssert(rack.coordinator.waitForOutput("said goodbye; 2 worker(s) left", seconds: 10), rack.coordinator.output)
        // The page and metrics follow within a publish interval (the other tests count 2 workers).
        let statusURL = URL(string: "http://127.0.0.1:\(rack.metricsPort)/status.json")!
        var published = 0
        for _ in 0..<100 {
            published = httpGet(statusURL).flatMap { try? JSONDecoder().decode(RackStatus.self, from: $0) }?.workers.count ?? -1
            if published == 2 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertEqual(published, 2)

        var fields: [String: Set<String>] = [:]
        for (name, text) in [("coordinator", rack.coordinator.output), ("worker", rack.workers[0].output), ("drained", worker.output), ("submit", rack.submitStderr)] {
            let lines = text.split(separator: "\n")
            XCTAssertFalse(lines.isEmpty, name)
            for line in lines {
                guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    XCTFail("\(name): not a JSON object: \(line)")
                    continue
                }
                for key in ["time", "level", "message"] { XCTAssertNotNil(object[key] as? String, "\(name): \(line)") }
                for key in LogFields.keys { if let v = object[key] as? String { fields[name, default: []].insert("\(key)=\(v)") } }
            }
        }
        XCTAssert(fields["coordinator"]?.contains { $0.hasPrefix("job=") } == true, "\(fields)")
        XCTAssert(fields["coordinator"]?.contains { $0.hasPrefix("worker=") } == true, "\(fields)")
        XCTAssert(fields["submit"]?.contains("image=test/crack/002.png") == true, "the unreadable image is named: \(fields)")
        // The worker's last log line is WorkerDiagnostic.leaving (its log is what the process shows).
        XCTAssert(worker.output.split(separator: "\n").last?.contains("leaving after") == true, worker.output)
        // A bad value is refused before anything runs.
        let bad = try runProgram("winclip-worker", ["--log-format", "xml"], timeout: 30)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssert(bad.stderr.contains("log-format"), bad.stderr)
    }
}

/// Runs a program to its end (at most `timeout` seconds): exit status, stdout, stderr apart.
func runProgram(_ executable: String, _ arguments: [String], timeout: Double, absolutePath: Bool = false) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = absolutePath ? URL(fileURLWithPath: executable) : ManagedProcess.binDirectory.appendingPathComponent(executable)
    process.arguments = arguments
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winclip-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(50_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let soFar = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
        throw OperatorProcessTests.RackError("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout) s; its stderr: \(soFar)")
    }
    return (process.terminationStatus, try String(contentsOf: out, encoding: .utf8), try String(contentsOf: err, encoding: .utf8))
}

/// One GET on loopback (nil on any failure), at most 5 s.
func httpGet(_ url: URL) -> Data? {
    final class Box: @unchecked Sendable { var data: Data? }  // written before the semaphore signals
    let box = Box(), done = DispatchSemaphore(value: 0)
    var request = URLRequest(url: url)
    request.timeoutInterval = 5
    URLSession.shared.dataTask(with: request) { data, response, _ in
        if (response as? HTTPURLResponse)?.statusCode == 200 { box.data = data }
        done.signal()
    }.resume()
    _ = done.wait(timeout: .now() + 6)
    return box.data
}
