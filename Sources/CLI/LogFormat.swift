import ArgumentParser
import Foundation
import Logging

/// `--log-format`: lines for people (swift-log's stream format, the default) or one JSON
/// object per line for log shippers (`JSONLogHandler`).
public enum LogFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
    case human, json

    /// Installs the format for the whole process (once, before the first logger).
    public func bootstrap() {
        switch self {
        case .human: LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        case .json: LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        }
    }

    /// A fatal error, the last line a command writes: in the chosen format.
    public func writeError(_ error: Error, label: String) {
        switch self {
        case .human:
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        case .json:
            LineSink.standardError.write(JSONLogHandler.line(time: Date(), level: .error, label: label, message: "\(error)",
                                                             fields: LogFields.scan("\(error)").mapValues { .string($0) }))
        }
    }
}
