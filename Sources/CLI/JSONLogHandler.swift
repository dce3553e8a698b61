import Foundation
import Logging
import Outputs
import Synchronization

/// `--log-format json`: one JSON object per line on standard error, for log shippers
/// (journald, Vector, Fluent Bit, Loki): `time` (UTC, ISO 8601 with milliseconds), `level`,
/// `label` (the program), `message`, then the metadata. The fields that matter (`job`,
/// `worker`, `image`) are taken from the metadata when given, else read off the message
/// (`LogFields`), so the coordinator's machine needs no logger of its own.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info
    let label: String
    let sink: LineSink

    public init(label: String, sink: LineSink = .standardError) {
        self.label = label
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let given = event.metadata { fields.merge(given) { $1 } }
        let text = event.message.description
        for (key, value) in LogFields.scan(text) where fields[key] == nil { fields[key] = .string(value) }
        sink.write(Self.line(time: Date(), level: event.level, label: label, message: text, fields: fields))
    }

    /// One object, keys in a fixed order: time, level, label, message, then the fields sorted.
    static func line(time: Date, level: Logger.Level, label: String, message: String, fields: Logger.Metadata) -> String {
        var out = "{\"time\":\(JSONText.string(JSONText.timestamp(time))),\"level\":\(JSONText.string(level.rawValue))"
        out += ",\"label\":\(JSONText.string(label)),\"message\":\(JSONText.string(message))"
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !["time", "level", "label", "message"].contains(key) {
            out += ",\(JSONText.string(key)):\(JSONText.value(value))"
        }
        return out + "}"
    }
}

/// Where finished lines go: one `write` per line under a lock, so threads never interleave.
public final class LineSink: Sendable {
    private let lock = Mutex<Void>(())
    private let handle: FileHandle
    public init(_ handle: FileHandle) { self.handle = handle }
    public static let standardError = LineSink(.standardError)
    public func write(_ line: String) {
        lock.withLock { _ in handle.write(Data((line + "\n").utf8)) }
    }
}

/// JSON text for strings and metadata values (no Foundation encoder: its key order and number
/// formatting vary, and log lines are written often).
enum JSONText {
    /// The one JSON string quoting of the outputs (results.jsonl, report.html).
    static func string(_ s: String) -> String { ImageResult.quoted(s) }

    static func value(_ v: Logger.Metadata.Value) -> String {
        switch v {
        case .string(let s): return string(s)
        case .stringConvertible(let c): return string(c.description)
        case .array(let items): return "[" + items.map(value).joined(separator: ",") + "]"
        case .dictionary(let d): return "{" + d.sorted(by: { $0.key < $1.key }).map { string($0.key) + ":" + value($0.value) }.joined(separator: ",") + "}"
        }
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }
}
