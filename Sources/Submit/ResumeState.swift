import Foundation
import Options
import Outputs
import ImageInput

/// What an output folder's results were computed with (`job.json`): a resumed job continues
/// into the folder only when it computes the same thing.
public struct JobRecord: Codable, Equatable, Sendable {
    public static let fileName = "job.json"
    public var version = 1
    /// The model the rows were scored with; nil until a coordinator accepted the job.
    public var fingerprint: String?
    public var options: JobOptions
    /// The few-shot reference images, as given.
    public var references: [String]
    public var sixteenBit: String
    public var dataset: String
    /// `--save-maps`; nil in folders written before it was recorded (then the rows tell).
    public var saveMaps: Bool?

    public init(fingerprint: String?, options: JobOptions, references: [URL], sixteenBit: SixteenBitMode, dataset: String,
                saveMaps: Bool) {
        self.fingerprint = fingerprint
        self.options = options
        self.references = references.map(\.standardizedFileURL.path)
        self.sixteenBit = sixteenBit.rawValue
        self.dataset = dataset
        self.saveMaps = saveMaps
    }

    public static func load(from directory: URL) throws -> JobRecord? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do { return try JSONDecoder().decode(JobRecord.self, from: Data(contentsOf: url)) } catch {
            throw SubmitError("\(url.path) cannot be read (\(error)); it records what the folder's results were computed with")
        }
    }

    public func save(in directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = directory.appendingPathComponent(Self.fileName)
        let temporary = directory.appendingPathComponent(".\(Self.fileName).tmp")
        try encoder.encode(self).write(to: temporary)
        try ResumeState.replace(url, with: temporary)
    }

    /// What differs from an earlier record (empty: the same job). A fingerprint not known on
    /// one side (a coordinator's model not yet seen) does not count.
    public func differences(from earlier: JobRecord) -> [ResumeDifference] {
        var out: [ResumeDifference] = []
        if let a = fingerprint, let b = earlier.fingerprint, a != b { out.append(.fingerprint(earlier: b, now: a)) }
        if options != earlier.options { out.append(.options(earlier: earlier.options, now: options)) }
        if references != earlier.references { out.append(.references(earlier: earlier.references, now: references)) }
        if sixteenBit != earlier.sixteenBit { out.append(.sixteenBit(earlier: earlier.sixteenBit, now: sixteenBit)) }
        if dataset != earlier.dataset { out.append(.dataset(earlier: earlier.dataset, now: dataset)) }
        return out
    }
}

/// The rows of an interrupted job that stand, when it is resumed: every well-formed scored row
/// of an image still in the dataset whose map file (when it names one) exists. Error rows are
/// tried again; a torn last line (the process died mid-write) is dropped.
public struct ResumeState: Sendable {
    public var kept: [ImageResult] = []
    /// Rows dropped to be computed again, and why (counts by reason).
    public var redone: [String: Int] = [:]

    public var keptImages: Set<String> { Set(kept.map(\.image)) }

    /// - Parameters:
    ///   - images: the relative paths of the dataset's images (rows of other paths are dropped).
    ///   - needsMaps: --save-maps: a scored row without its map file is computed again.
    public static func load(_ results: URL, directory: URL, images: Set<String>, needsMaps: Bool) throws -> ResumeState {
        var state = ResumeState()
        guard FileManager.default.fileExists(atPath: results.path) else { return state }
        let data = try Data(contentsOf: results)
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        // The last piece: "" after a final newline, or a torn line without one.
        let last = lines.removeLast()
        var seen: Set<String> = []
        func take(_ line: Data.SubSequence, number: Int, isLast: Bool) throws {
            guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { return }
            let row: ImageResult
            do { row = try ImageResult(jsonLine: Data(line)) } catch {
                if isLast { state.redone["torn last line", default: 0] += 1; return }
                throw SubmitError("\(results.path) line \(number) is not a result row (\(error)); it was not written by this program: move the folder aside or choose another --output")
            }
            guard images.contains(row.image), !seen.contains(row.image) else {
                state.redone[images.contains(row.image) ? "repeated row" : "not in the dataset", default: 0] += 1
                return
            }
            if row.error != nil || row.score == nil {
                state.redone["error row", default: 0] += 1
                return
            }
            if let map = row.map, !FileManager.default.fileExists(atPath: directory.appendingPathComponent(map).path) {
                state.redone["map file missing", default: 0] += 1
                return
            }
            if needsMaps && row.map == nil && !row.mapSkipped {
                state.redone["map not saved", default: 0] += 1
                return
            }
            seen.insert(row.image)
            state.kept.append(row)
        }
        for (i, line) in lines.enumerated() { try take(line, number: i + 1, isLast: false) }
        try take(last, number: lines.count + 1, isLast: true)
        return state
    }

    /// Writes the kept rows as the new results.jsonl (through a temporary file renamed over it),
    /// so that the resumed job appends after them and every image keeps one row.
    public func rewrite(_ results: URL) throws {
        let temporary = results.deletingLastPathComponent().appendingPathComponent(".\(results.lastPathComponent).resume.tmp")
        var data = Data()
        for row in kept { data.append(Data((row.jsonLine + "\n").utf8)) }
        try data.write(to: temporary)
        try Self.replace(results, with: temporary)
    }

    /// Moves `temporary` over `url` in one rename(2), so a crash leaves the old or the new file.
    static func replace(_ url: URL, with temporary: URL) throws {
        guard rename(temporary.path, url.path) == 0 else {
            throw SubmitError("cannot replace \(url.path): \(String(cString: strerror(errno)))")
        }
    }
}
