import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Tools/fake_hub.py on an ephemeral 127.0.0.1 port, for the tests: started by `init`,
/// stopped by `stop()` (SIGTERM, then SIGKILL) or when released.
public final class FakeHub {
    public let endpoint: String
    private let process = Process()

    public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    public static let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures")
    public static let script = repositoryRoot.appendingPathComponent("Tools/fake_hub.py")

    /// - files: "OWNER/REPO/PATH" -> local file served as that hub file.
    /// - options: more fake_hub.py options (--cut-after N, --corrupt, --chunk-delay S, ...).
    public init(files: [String: URL], options: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script.path] + files.sorted { $0.key < $1.key }.flatMap { ["--file", "\($0.key)=\($0.value.path)"] } + options
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        // The first line names the port; it is printed once the socket is listening.
        var line = Data()
        let deadline = Date().addingTimeInterval(30)
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty || Date() > deadline {
                process.terminate()
                throw FakeHubError(message: "fake_hub.py did not start (is python3 installed?)")
            }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let url = text.split(separator: " ").first(where: { $0.hasPrefix("http://127.0.0.1:") }) else {
            process.terminate()
            throw FakeHubError(message: "unexpected first line from fake_hub.py: \(text)")
        }
        endpoint = String(url)
    }

    /// One request the fake hub served.
    public struct Request: Decodable, Equatable {
        /// "hub" (the resolve route) or "cdn" (the bytes).
        public let server: String
        public let method: String
        public let path: String
        public let range: String?
        public let authorization: String?
    }

    /// The requests served so far (the control request itself is not counted).
    public func requests() throws -> [Request] {
        let url = URL(string: "\(endpoint)/_control/requests")!
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        URLSession.shared.dataTask(with: url) { data, _, error in
            box.set(data: data, error: error)
            done.signal()
        }.resume()
        guard done.wait(timeout: .now() + 30) == .success, let data = box.data else {
            throw FakeHubError(message: "cannot read the fake hub's request log: \(String(describing: box.error))")
        }
        return try JSONDecoder().decode([Request].self, from: data)
    }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

public struct FakeHubError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The answer of one URLSession callback, handed to the waiting thread.
private final class ResultBox: @unchecked Sendable {
    // Written once in the callback, read after the semaphore: ordered by it; the lock says so.
    private let lock = NSLock()
    private var storedData: Data?
    private var storedError: Error?
    func set(data: Data?, error: Error?) { lock.lock(); storedData = data; storedError = error; lock.unlock() }
    var data: Data? { lock.lock(); defer { lock.unlock() }; return storedData }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return storedError }
}
