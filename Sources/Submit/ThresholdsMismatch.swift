import Foundation
import Options
import AnomalyMetrics

/// One way a thresholds file's run differs from this one.
public enum ThresholdsMismatch: Equatable, Sendable, CustomStringConvertible {
    case fingerprint(file: String, run: String)
    case className(file: String, run: String)
    /// A job option (its cluster.yaml / JSON key), with both values as JSON.
    case option(key: String, file: String, run: String)
    /// The file does not say (a hand-written file): "model fingerprint", "job options".
    case notRecorded(String)

    public var description: String {
        switch self {
        case .fingerprint(let file, let run): return "model fingerprint \(file) in the file, \(run) here"
        case .className(let file, let run): return "class '\(file)' in the file, '\(run)' here"
        case .option(let key, let file, let run): return "\(key) \(file) in the file, \(run) here"
        case .notRecorded(let what): return "the file records no \(what)"
        }
    }

    /// Options that do not change a score: `segment_above` only decides which images get maps.
    static let ignoredOptions: Set<String> = ["segment_above"]

    /// How the run that learned `saved` differs from this one (empty: the same model, class and
    /// options). `fingerprint` nil: this run's model is not known yet (not compared).
    public static func between(_ saved: Thresholds, fingerprint: String?, options: JobOptions) throws -> [ThresholdsMismatch] {
        var out = model(saved, fingerprint: fingerprint)
        guard case .object(let theirs)? = saved.options else { return out + [.notRecorded("job options")] }
        guard case .object(let ours) = try JSONValue(encoding: options) else { return out }
        for key in Set(theirs.keys).union(ours.keys).sorted() where !ignoredOptions.contains(key) {
            let a = theirs[key] ?? .null, b = ours[key] ?? .null
            guard a != b else { continue }
            if key == "class_name" {
                out.append(.className(file: a.plainText, run: b.plainText))
            } else {
                out.append(.option(key: key, file: a.plainText, run: b.plainText))
            }
        }
        return out
    }
}

extension ThresholdsMismatch {
    /// The model part of `between` alone (for a model a coordinator names only once the job runs).
    static func model(_ saved: Thresholds, fingerprint: String?) -> [ThresholdsMismatch] {
        guard let ours = fingerprint else { return [] }
        guard let theirs = saved.fingerprint else { return [.notRecorded("model fingerprint")] }
        return theirs == ours ? [] : [.fingerprint(file: theirs, run: ours)]
    }
}

extension JSONValue {
    /// Compact JSON text, a string without its quotes.
    var plainText: String {
        if case .string(let s) = self { return s }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }
}
