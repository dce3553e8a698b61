import Foundation
import XCTest
import WinCLIP
@testable import Report
import AnomalyMetrics
import ImageInput

/// report.html in a real browser: Debian's `chromium` (installed by .ci/run) renders the report of
/// a synthetic run headless; the test reads the DOM after the page's script ran and checks a
/// screenshot is not blank. Skipped, saying so, only where chromium is not installed.
///
/// REPORT_BROWSER_IMAGES (default 60) sets the run's size; REPORT_BROWSER_KEEP=DIR keeps the run,
/// the dumped DOM and the screenshot in DIR.
final class ReportBrowserTests: XCTestCase {
    private static let timeout: TimeInterval = 120

    private func chromium() throws -> String {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw XCTSkip("chromium is not installed (apt-get install chromium); .ci/run installs it, so CI runs this test")
    }

    func testReportRendersInChromium() throws {
        let browser = try chromium()
        let env = ProcessInfo.processInfo.environment
        let count = Int(env["REPORT_BROWSER_IMAGES"] ?? "") ?? 60
        let keep = env["REPORT_BROWSER_KEEP"].map { URL(fileURLWithPath: $0) }
        let directory = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("report-browser-\(UUID().uuidString)")
        if keep == nil { addTeardownBlock { try? FileManager.default.removeItem(at: directory) } }
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        let synthetic = try SyntheticRun(count: count, in: directory)
        let scored = try ResultsFile.readAll(synthetic.writer.resultsURL).filter { $0.error == nil }
        let metrics = MetricsReport(imageAUROC: AnomalyMetrics.auroc(scores: scored.map { $0.score! }, labels: scored.map { $0.label == 1 }),
                                    imageF1Max: AnomalyMetrics.f1Max(scores: scored.map { $0.score! }, labels: scored.map { $0.label == 1 }))
        let outcome = try JobReport.finish(directory: synthetic.output, writer: synthetic.writer, title: "Synthetic run (\(count) images)", metrics: metrics,
                                           thresholds: .learn(pixel: nil, fingerprint: nil, options: nil),
                                           pictures: .init(items: synthetic.items, panelSize: 128),
                                           facts: [ReportFact("dataset", "synthetic MVTec-like (good, crack, scratch)")])
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: outcome.report.path)[.size] as? Int)
        print("report.html of \(count) images: \(size) bytes, \(outcome.picturesWritten) pictures")
        // The page alone, copied into an empty folder (as if mailed to another machine).
        let alone = directory.appendingPathComponent("alone")
        try FileManager.default.createDirectory(at: alone, withIntermediateDirectories: true)
        let report = alone.appendingPathComponent("report.html")
        try FileManager.default.copyItem(at: outcome.report, to: report)

        // The DOM after the script ran (a window tall enough that every lazy thumbnail of the page is in view).
        let profile = directory.appendingPathComponent("chromium-profile")
        let dom = try runBrowser(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile.path)",
                                    "--window-size=1280,9000", "--virtual-time-budget=5000", "--dump-dom", report.absoluteString])
        if keep != nil { try Data(dom.utf8).write(to: directory.appendingPathComponent("dom.html")) }
        let expectedRows = min(50, count)
        XCTAssertTrue(dom.contains("data-rendered=\"\(expectedRows)\""), "the script rendered one page of \(expectedRows) rows")
        XCTAssertTrue(dom.contains("data-matching=\"\(count)\""), "every image is in the table")
        let tbody = try XCTUnwrap(section(of: dom, from: "<tbody id=\"rows\">", to: "</tbody>"))
        XCTAssertEqual(tbody.components(separatedBy: "<tr").count - 1, expectedRows)
        XCTAssertEqual(tbody.components(separatedBy: "loading=\"lazy\" decoding=\"async\" alt=\"\" src=\"data:image/jpeg;base64,").count - 1,
                       expectedRows, "lazy thumbnails, embedded")
        XCTAssertTrue(dom.contains("data-thumbnails-loaded=\"\(expectedRows)\""), "chromium decoded every thumbnail of the page, with the page alone")
        XCTAssertTrue(dom.contains("data-thumbnails-failed=\"0\""))
        XCTAssertTrue(tbody.contains("href=\"pictures/test/"), "rows link to their pictures (extras)")
        XCTAssertTrue(dom.contains("id=\"colour-bar\""), "the heat maps' colour bar")
        for id in ["roc", "pr", "hist"] {
            let svg = try XCTUnwrap(section(of: dom, from: "<svg id=\"\(id)\"", to: "</svg>"), "chart \(id)")
            XCTAssertTrue(id == "hist" ? svg.contains("<rect") : svg.contains("class=\"curve\" d=\"M"), "chart \(id) has data")
        }
        XCTAssertTrue(dom.contains(String(format: "<td class=\"num\">%.4f</td>", metrics.imageAUROC!)), "image AUROC shown")
        // Sorted by score, highest first: the first row holds the largest score.
        let top = scored.map { $0.score! }.max()!
        let firstRow = try XCTUnwrap(section(of: tbody, from: "<tr", to: "</tr>"))
        XCTAssertTrue(firstRow.contains(String(format: "<td class=\"num\">%.4f</td>", top)), firstRow)

        // Filtering, as the page applies it from the address: the anomalous images it missed.
        let rows = try ResultsFile.readAll(synthetic.writer.resultsURL)
        let missed = rows.filter { $0.label == 1 && $0.predLabel == 0 }.count
        XCTAssertGreaterThan(missed, 0)
        let filtered = try runBrowser(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile.path)",
                                                "--virtual-time-budget=5000", "--dump-dom", report.absoluteString + "#label=1&pred=0"])
        XCTAssertTrue(filtered.contains("data-matching=\"\(missed)\""), "label=1&pred=0 keeps the \(missed) false negatives")
        XCTAssertTrue(filtered.contains("data-rendered=\"\(min(50, missed))\""))

        // A screenshot that shows something.
        let shot = directory.appendingPathComponent("screenshot.png")
        _ = try runBrowser(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile.path)", "--hide-scrollbars",
                              "--window-size=1280,2200", "--virtual-time-budget=5000", "--screenshot=\(shot.path)", report.absoluteString])
        let image = try PNGDecoder.decode(Data(contentsOf: shot), path: shot.path)
        XCTAssertEqual(image.width, 1280)
        var colours = Set<UInt32>()
        var nonWhite = 0
        for i in 0..<(image.width * image.height) {
            let r = image.pixels[3 * i], g = image.pixels[3 * i + 1], b = image.pixels[3 * i + 2]
            colours.insert(UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b))
            if r < 250 || g < 250 || b < 250 { nonWhite += 1 }
        }
        let share = Double(nonWhite) / Double(image.width * image.height)
        print("screenshot \(image.width)x\(image.height): \(colours.count) colours, \(String(format: "%.1f", 100 * share))% not white")
        XCTAssertGreaterThan(colours.count, 200, "text, charts and thumbnails give many colours")
        XCTAssertGreaterThan(share, 0.3)
    }

    private func section(of text: String, from start: String, to end: String) -> String? {
        guard let a = text.range(of: start), let b = text.range(of: end, range: a.upperBound..<text.endIndex) else { return nil }
        return String(text[a.lowerBound..<b.upperBound])
    }

    /// Runs the browser with a deadline; returns its standard output.
    private func runBrowser(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let output = OutputBox()
        let group = DispatchGroup()
        try process.run()
        // Read while it runs, so that a large DOM cannot fill the pipe and stall it.
        DispatchQueue.global().async(group: group) { output.set(out.fileHandleForReading.readDataToEndOfFile()) }
        let deadline = Date().addingTimeInterval(Self.timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTFail("chromium did not finish within \(Self.timeout) s")
        }
        _ = group.wait(timeout: .now() + 10)
        XCTAssertEqual(process.terminationStatus, 0, "chromium exit status")
        return String(decoding: output.get(), as: UTF8.self)
    }
}

/// The bytes a reader thread hands over.
private final class OutputBox: @unchecked Sendable {
    // Safe: every access holds `lock`.
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.withLock { data = d } }
    func get() -> Data { lock.withLock { data } }
}
