import Foundation
import Options

/// One way a resumed job would compute otherwise than the run whose folder it continues
/// (`JobRecord.differences`): each field of job.json, earlier -> now.
public enum ResumeDifference: Equatable, Sendable, CustomStringConvertible {
    case fingerprint(earlier: String, now: String)
    case options(earlier: JobOptions, now: JobOptions)
    case references(earlier: [String], now: [String])
    case sixteenBit(earlier: String, now: String)
    case dataset(earlier: String, now: String)

    public var description: String {
        switch self {
        case .fingerprint(let earlier, let now): return "model fingerprint \(earlier) -> \(now)"
        case .options(let earlier, let now): return "options \(Self.describe(earlier)) -> \(Self.describe(now))"
        case .references(let earlier, let now): return "reference images \(earlier) -> \(now)"
        case .sixteenBit(let earlier, let now): return "--sixteen-bit \(earlier) -> \(now)"
        case .dataset(let earlier, let now): return "dataset \(earlier) -> \(now)"
        }
    }

    static func describe(_ o: JobOptions) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(o)).map { String(decoding: $0, as: UTF8.self) } ?? "\(o)"
    }
}
