import Foundation

/// What a download tells while it runs.
public enum HubProgressEvent: Equatable, Sendable {
    /// Another process holds the blob's lock (it is downloading the same file): waiting for it.
    case waitingForLock(file: String, lock: String)
    /// Bytes are about to flow; `resumedFrom` bytes were already on disk.
    case started(file: String, total: Int64, resumedFrom: Int64)
    /// `received` bytes of `total` are on disk.
    case received(file: String, received: Int64, total: Int64)
    /// The connection dropped after `onDisk` bytes; the next request resumes from there.
    case resuming(file: String, onDisk: Int64, message: String)
    case verifying(file: String, algorithm: String)
    case finished(file: String, bytes: Int64)
}

public typealias HubProgressHandler = @Sendable (HubProgressEvent) -> Void

/// Shows a download: a bar redrawn in place on a terminal (stderr is a TTY), otherwise a line
/// every 10% through `log` (or nothing when `log` is nil), so logs of a rack stay readable.
public final class DownloadProgressDisplay: @unchecked Sendable {
    // Events arrive on one URLSession delegate queue at a time; the lock keeps the drawing
    // state consistent should two downloads share a display.
    private let lock = NSLock()
    private let isTerminal: Bool
    private let log: (@Sendable (String) -> Void)?
    private var lastDraw = Date.distantPast
    private var lastDecile: Int64 = 0
    private var startTime = Date()
    private var startBytes: Int64 = 0

    /// `terminal`: draw a bar on stderr (default: when stderr is a TTY).
    public init(terminal: Bool = isatty(STDERR_FILENO) == 1, log: (@Sendable (String) -> Void)?) {
        isTerminal = terminal
        self.log = log
    }

    public var handler: HubProgressHandler { { [self] in self.show($0) } }

    public func show(_ event: HubProgressEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case let .waitingForLock(file, lockPath):
            line("waiting for another process downloading \(file) (lock \(lockPath))")
        case let .started(file, total, resumed):
            startTime = Date()
            startBytes = resumed
            lastDecile = resumed * 10 / max(total, 1)
            lastDraw = .distantPast
            line(resumed > 0 ? "downloading \(file) (\(Self.size(total))), resuming after \(Self.size(resumed))" : "downloading \(file) (\(Self.size(total)))")
        case let .received(file, received, total):
            if isTerminal {
                let now = Date()
                guard received == total || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
                lastDraw = now
                FileHandle.standardError.write(Data(("\r" + bar(file, received, total)).utf8))
                if received == total { FileHandle.standardError.write(Data("\n".utf8)) }
            } else if total > 0 {
                let decile = received * 10 / total
                guard decile > lastDecile else { return }
                lastDecile = decile
                log?("\(file): \(decile * 10)% of \(Self.size(total))")
            }
        case let .resuming(file, onDisk, message):
            if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
            line("\(file): connection lost after \(Self.size(onDisk)) (\(message)); resuming")
        case let .verifying(file, algorithm):
            line("verifying \(file) (\(algorithm))")
        case let .finished(file, bytes):
            line("downloaded \(file) (\(Self.size(bytes)))")
        }
    }

    private func line(_ text: String) {
        if isTerminal { FileHandle.standardError.write(Data((text + "\n").utf8)) } else { log?(text) }
    }

    private func bar(_ file: String, _ received: Int64, _ total: Int64) -> String {
        let fraction = total > 0 ? min(1, Double(received) / Double(total)) : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let seconds = max(Date().timeIntervalSince(startTime), 1e-3)
        let rate = Double(received - startBytes) / seconds
        let name = file.count > 32 ? "…" + file.suffix(31) : file
        return "\(name) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] "
            + String(format: "%3.0f%% ", fraction * 100) + "\(Self.size(received))/\(Self.size(total)) \(Self.size(Int64(rate)))/s  "
    }

    /// 1.2 MB, 845.3 MB: decimal units as huggingface_hub's progress bars show them.
    public static func size(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = Double(bytes)
        var i = 0
        while v >= 1000, i < units.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? "\(bytes) B" : String(format: "%.1f ", v) + units[i]
    }
}
