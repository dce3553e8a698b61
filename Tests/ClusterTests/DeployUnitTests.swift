import Foundation
import XCTest

/// deploy/systemd's units as systemd reads them: `systemd-analyze verify` in a scratch root
/// holding the installed layout (the binaries at their ExecStart paths, systemd's own units),
/// and the hardening the operations guide promises.
final class DeployUnitTests: XCTestCase {
    static let deployFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("deploy/systemd")
    static let units = ["winclip-coordinator.service", "winclip-worker@.service"]

    /// `systemd-analyze verify` exits 0 even for keys it ignores ("Unknown key name"), so any
    /// word it prints is a failure too.
    func verify(_ unitText: [String: String]) throws -> (status: Int32, output: String) {
        try analyze(unitText, ["verify", "--man=no", "/etc/systemd/system/winclip-coordinator.service",
                               "/etc/systemd/system/winclip-worker@1.service", "/etc/systemd/system/winclip-worker@2.service"])
    }

    /// `systemd-analyze ARGUMENTS --root=ROOT` on the units installed in a scratch root.
    func analyze(_ unitText: [String: String], _ arguments: [String]) throws -> (status: Int32, output: String) {
        let analyze = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyze) else {
            throw XCTSkip("systemd-analyze is absent (Debian package systemd; .ci/run installs it)")
        }
        let root = try temporaryOutputFolder(self)
        let fm = FileManager.default
        for dir in ["usr/local/bin", "etc/systemd/system", "etc/winclip", "usr/lib/systemd", "bin"] {
            try fm.createDirectory(at: root.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
        for binary in ["winclip-coord", "winclip-worker"] {
            let path = root.appendingPathComponent("usr/local/bin/\(binary)").path
            fm.createFile(atPath: path, contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755])
        }
        try fm.copyItem(atPath: "/usr/lib/systemd/system", toPath: root.appendingPathComponent("usr/lib/systemd/system").path)
        try fm.copyItem(atPath: "/bin/kill", toPath: root.appendingPathComponent("bin/kill").path)
        for (name, text) in unitText {
            try text.write(to: root.appendingPathComponent("etc/systemd/system/\(name)"), atomically: true, encoding: .utf8)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyze)
        process.arguments = [arguments[0], "--root=\(root.path)"] + arguments.dropFirst()
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    func shippedUnits() throws -> [String: String] {
        var texts: [String: String] = [:]
        for name in Self.units {
            texts[name] = try String(contentsOf: Self.deployFolder.appendingPathComponent(name), encoding: .utf8)
        }
        return texts
    }

    func testShippedUnitsVerify() throws {
        let result = try verify(try shippedUnits())
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines), "", "systemd-analyze had something to say")
    }

    /// systemd's own hardening score (0 = locked down, 10 = exposed): both units stay at or
    /// under 2 ("OK"; the worker goes without MemoryDenyWriteExecute for oneDNN's JIT).
    func testExposureScore() throws {
        let units = try shippedUnits()
        for unit in ["winclip-coordinator.service", "winclip-worker@1.service"] {
            let result = try analyze(units, ["security", "--offline=true", "--threshold=20", unit])
            XCTAssertEqual(result.status, 0, result.output)
            let line = result.output.split(separator: "\n").first { $0.contains("Overall exposure level") } ?? ""
            let score = line.split(separator: " ").compactMap { Double($0) }.first
            XCTAssertLessThanOrEqual(try XCTUnwrap(score, result.output), 2.0, String(line))
            print("systemd-analyze security \(unit): \(line)")
        }
    }

    /// The check itself can fail: a misspelled key or a bad value is caught.
    func testAMisspelledKeyFailsTheCheck() throws {
        var units = try shippedUnits()
        units["winclip-worker@.service"] = units["winclip-worker@.service"]!.replacingOccurrences(of: "ProtectSystem=strict", with: "ProtectSystm=strict")
        XCTAssert(try verify(units).output.contains("ProtectSystm"))
        units = try shippedUnits()
        units["winclip-coordinator.service"] = units["winclip-coordinator.service"]!.replacingOccurrences(of: "Type=exec", with: "Type=bogus")
        XCTAssert(try verify(units).output.contains("bogus"))
    }

    /// The hardening the issue asks for, key by key (systemd takes the last value of a key).
    func testUnitsAreHardened() throws {
        for (name, text) in try shippedUnits() {
            var keys: [String: String] = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                keys[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            XCTAssertEqual(keys["User"], "winclip", name)
            XCTAssertEqual(keys["ProtectSystem"], "strict", name)
            XCTAssertEqual(keys["NoNewPrivileges"], "yes", name)
            XCTAssertEqual(keys["ProtectHome"], "yes", name)
            XCTAssertEqual(keys["ReadOnlyPaths"], "/etc/winclip", "\(name): config, keys and weights read-only")
            XCTAssertEqual(keys["StateDirectory"], "winclip", name)
            XCTAssertEqual(keys["Environment"], "HF_HUB_CACHE=/var/lib/winclip/hub", "\(name): the hub cache in the state directory")
            XCTAssertEqual(keys["Restart"], "on-failure", name)
            XCTAssertEqual(keys["KillSignal"], "SIGTERM", "\(name): SIGTERM drains")
            XCTAssertEqual(keys["CapabilityBoundingSet"], "", name)
            XCTAssert(keys["ExecStart"]?.contains("--log-format json") == true, name)
        }
    }

    /// deploy/prometheus: the alert rules parse (`promtool check rules`), each fires on the
    /// series it is meant for and not on a healthy rack (`promtool test rules`), and
    /// docs/operations.md shows the same rules.
    func testAlertRules() throws {
        let promtool = "/usr/bin/promtool"
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            throw XCTSkip("promtool is absent (Debian package prometheus; .ci/run installs it)")
        }
        let folder = Self.deployFolder.deletingLastPathComponent().appendingPathComponent("prometheus")
        for arguments in [["check", "rules", "winclip-alerts.yml"], ["test", "rules", "winclip-alerts.test.yml"]] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: promtool)
            process.arguments = arguments
            process.currentDirectoryURL = folder
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "promtool \(arguments.joined(separator: " ")): \(output)")
            XCTAssert(output.contains("SUCCESS"), output)
        }
        let rules = try String(contentsOf: folder.appendingPathComponent("winclip-alerts.yml"), encoding: .utf8)
        let body = rules.split(separator: "\n", omittingEmptySubsequences: false).drop { $0.hasPrefix("#") }.joined(separator: "\n")
        let docs = try String(contentsOf: Self.deployFolder.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/operations.md"), encoding: .utf8)
        XCTAssert(docs.contains(body), "docs/operations.md shows deploy/prometheus/winclip-alerts.yml as it is")
    }
}
