import Foundation
import XCTest

/// Starts the package's executables (built next to the test bundle) on 127.0.0.1 only, and
/// stops them: SIGTERM, then SIGKILL after a grace period.
final class ManagedProcess {
    let process = Process()
    let log: URL
    let name: String

    /// The build folder holding the executables: beside the test bundle (.build/<triple>/debug).
    static let binDirectory: URL = {
        let candidates = [Bundle(for: ManagedProcess.self).bundleURL, Bundle.main.bundleURL,
                          URL(fileURLWithPath: CommandLine.arguments[0])]
        for c in candidates {
            for dir in [c, c.deletingLastPathComponent(), c.appendingPathComponent("debug"), c.appendingPathComponent("release")]
            where FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("winclip-coord").path) {
                return dir
            }
        }
        return candidates[0].deletingLastPathComponent()
    }()

    /// `environment`: the child's whole environment (nil: this process's); `absolutePath`: a
    /// program of the system (else one of the package's, by name). `launcher`: a command that
    /// runs the executable (e.g. `ip netns exec NS`, which execs it: the pid stays).
    init(_ executable: String, _ arguments: [String], logDirectory: URL, name: String, environment: [String: String]? = nil,
         absolutePath: Bool = false, launcher: [String] = []) throws {
        self.name = name
        log = logDirectory.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let binary = absolutePath ? URL(fileURLWithPath: executable) : Self.binDirectory.appendingPathComponent(executable)
        if let first = launcher.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(launcher.dropFirst()) + [binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        if let environment { process.environment = environment }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Waits for exit, at most `seconds`; true if it exited.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return !process.isRunning
    }

    /// Waits until the log contains `text`, at most `seconds`.
    @discardableResult
    func waitForOutput(_ text: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    func stop(grace: Double = 10) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        if !wait(seconds: grace) {
            kill(process.processIdentifier, SIGKILL)
            wait(seconds: 5)
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard bound else { throw NSError(domain: "port", code: 1) }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// The rows a running submit has written, for tests that act mid-job (ChaosTests, RackNamespaceTests).
extension XCTestCase {
    func rowCount(_ out: URL) -> Int {
        guard let data = try? Data(contentsOf: out.appendingPathComponent("results.jsonl")) else { return 0 }
        return data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// Waits (bounded) until results.jsonl has `rows` rows or the submit ended; returns the seconds.
    @discardableResult
    func waitForRows(_ out: URL, _ rows: Int, _ submit: ManagedProcess, seconds: Double = 90) -> Double {
        let start = Date()
        while rowCount(out) < rows && submit.process.isRunning && Date().timeIntervalSince(start) < seconds {
            Thread.sleep(forTimeInterval: 0.05)
        }
        return Date().timeIntervalSince(start)
    }
}
