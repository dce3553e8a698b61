import Foundation
import Synchronization

/// Progress of a run on stderr. On a terminal: one line redrawn in place (at most 10 times a
/// second) with a bar, images done/total, failures, images/s and the ETA. Otherwise (a log file,
/// a pipe): a plain line at most every `logInterval` seconds, printed from `update`, so nothing
/// appears while no image finishes. `finish()` prints the closing line. Safe to call from
/// several threads.
public final class ProgressReporter: Sendable {
    public typealias Sink = @Sendable (String) -> Void

    private let total: Int
    private let interactive: Bool
    private let logInterval: TimeInterval
    private let clock: @Sendable () -> TimeInterval
    private let output: Sink
    private let start: TimeInterval

    private struct State {
        var lastEmit: TimeInterval
        var done = 0
        var failed = 0
        var finished = false
    }
    private let state: Mutex<State>

    /// - Parameters:
    ///   - interactive: redraw one line in place; defaults to whether stderr is a terminal.
    ///   - clock: seconds from any fixed origin (tests inject their own).
    ///   - output: where text goes; defaults to stderr. Lines carry their own "\n" or "\r".
    public init(total: Int,
                interactive: Bool = isatty(STDERR_FILENO) != 0,
                logInterval: TimeInterval = 5,
                clock: @escaping @Sendable () -> TimeInterval = { ProcessInfo.processInfo.systemUptime },
                output: @escaping Sink = ProgressReporter.standardError) {
        self.total = total
        self.interactive = interactive
        self.logInterval = logInterval
        self.clock = clock
        self.output = output
        start = clock()
        state = Mutex(State(lastEmit: start))
    }

    public static let standardError: Sink = { text in
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// `done` counts every finished image, `failed` those of them that could not be scored.
    public func update(done: Int, failed: Int) {
        state.withLock { s in
            guard !s.finished else { return }
            s.done = done
            s.failed = failed
            let now = clock()
            let interval = interactive ? 0.1 : logInterval
            guard now - s.lastEmit >= interval else { return }
            s.lastEmit = now
            output(interactive ? "\r" + barLine(now: now, done: done, failed: failed) + "\u{1B}[K" : logLine(now: now, done: done, failed: failed) + "\n")
        }
    }

    public func finish() {
        state.withLock { s in
            guard !s.finished else { return }
            s.finished = true
            let now = clock()
            let elapsed = now - start
            let rate = elapsed > 0 ? String(format: "%.1f", Double(s.done) / elapsed) : "-"
            let summary = "\(s.done)/\(total) images, \(s.failed) failed, in \(Self.duration(elapsed)) (\(rate) images/s)"
            output(interactive ? "\r" + barLine(now: now, done: s.done, failed: s.failed) + "\u{1B}[K\n" + summary + "\n" : "done: " + summary + "\n")
        }
    }

    // MARK: - text

    package func barLine(now: TimeInterval, done: Int, failed: Int) -> String {
        let width = 30
        let filled = total > 0 ? min(width, width * done / total) : width
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        var line = "[\(bar)] \(done)/\(total)"
        if failed > 0 { line += " (\(failed) failed)" }
        return line + " " + rateAndETA(now: now, done: done)
    }

    package func logLine(now: TimeInterval, done: Int, failed: Int) -> String {
        let percent = total > 0 ? 100 * done / total : 100
        var line = "progress: \(done)/\(total) images (\(percent)%)"
        if failed > 0 { line += ", \(failed) failed" }
        return line + ", " + rateAndETA(now: now, done: done)
    }

    private func rateAndETA(now: TimeInterval, done: Int) -> String {
        let elapsed = now - start
        guard done > 0, elapsed > 0 else { return "- images/s, ETA -" }
        let rate = Double(done) / elapsed
        let eta = Double(max(total - done, 0)) / rate
        return String(format: "%.1f images/s, ETA ", rate) + Self.duration(eta)
    }

    /// 0:07, 12:30, 1:02:03.
    package static func duration(_ seconds: TimeInterval) -> String {
        let s = Int(seconds.rounded())
        let (h, m, r) = (s / 3600, s / 60 % 60, s % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, r) : String(format: "%d:%02d", m, r)
    }
}
