import Foundation
import Protocol

/// `winclip-coord status` on a terminal: the rack as three aligned tables, or as one JSON
/// object (`--json`: `workers`, `jobs`, `queues`, ... for scripts).
public enum StatusTable {
    public static func json(_ status: RackStatus) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(status), as: UTF8.self)
    }

    public static func text(_ status: RackStatus) -> String {
        var out = "coordinator up \(duration(status.uptime)); \(status.workers.count) worker(s), \(status.jobs.count) job(s)\n\nWORKERS\n"
        out += columns([["NAME", "HOST", "MODEL", "PRECISIONS", "STATE", "UNITS", "UNITS/S", "STRIKES", "LAST SEEN"]] + status.workers.map {
            [$0.name, $0.host, $0.model, $0.precisions.map(\.rawValue).joined(separator: ","), $0.state.rawValue, "\($0.unitsDone)",
             String(format: "%.2f", $0.unitsPerSecond), "\($0.strikes)", duration($0.lastSeenSecondsAgo) + " ago"]
        })
        out += "\nJOBS\n"
        out += columns([["JOB", "CLIENT", "CLASS", "PHASE", "DONE/TOTAL", "FAILED", "IMAGES/S", "ETA"]] + status.jobs.map {
            ["\($0.job)", $0.client, $0.className, $0.phase.rawValue, "\($0.done)/\($0.total)", "\($0.failed)",
             String(format: "%.2f", $0.imagesPerSecond), $0.etaSeconds.map(duration) ?? "-"]
        })
        out += "\nQUEUES\n"
        out += columns([["MODEL", "FINGERPRINT", "UNITS"]] + status.queues.map { [$0.model, $0.fingerprint, "\($0.units)"] })
        return out
    }

    package static func columns(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        let widths = (0..<first.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    package static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "-" }
        if s < 90 { return "\(Int(s.rounded())) s" }
        if s < 5400 { return "\(Int((s / 60).rounded())) min" }
        return String(format: "%.1f h", s / 3600)
    }
}
