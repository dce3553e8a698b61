import Datasets
import Foundation
import Synchronization

/// One line of results.jsonl. Keys are written in this order, each only when it has a value:
/// `image`, `score`, `label`, `pred_label`, `normalized_score`, `map`, `error` (a file that could
/// not be scored has `error` instead of `score`; `pred_label` and `normalized_score` come with a
/// threshold, see `ScoreNormalization`).
public struct ImageResult: Sendable, Equatable {
    public var image: String
    public var score: Float?
    public var label: Int?
    public var map: String?
    /// Written as `"map": null`: maps were asked for, but this image got none
    /// (`--segment-above`: its score was below the line).
    public var mapSkipped = false
    public var error: String?
    /// The decision (0/1) and anomalib's normalised score, with a threshold.
    public var predLabel: Int?
    public var normalizedScore: Float?

    public init(image: String, score: Float? = nil, label: Int? = nil, map: String? = nil, error: String? = nil,
                predLabel: Int? = nil, normalizedScore: Float? = nil) {
        self.image = image
        self.score = score
        self.label = label
        self.map = map
        self.error = error
        self.predLabel = predLabel
        self.normalizedScore = normalizedScore
    }

    /// The JSON object on one line, without the newline. A non-finite score is written as null.
    public var jsonLine: String {
        var fields = ["\"image\": \(Self.quoted(image))"]
        if let score { fields.append("\"score\": \(score.isFinite ? score.description : "null")") }
        if let label { fields.append("\"label\": \(label)") }
        if let predLabel { fields.append("\"pred_label\": \(predLabel)") }
        if let normalizedScore { fields.append("\"normalized_score\": \(normalizedScore.isFinite ? normalizedScore.description : "null")") }
        if let map { fields.append("\"map\": \(Self.quoted(map))") } else if mapSkipped { fields.append("\"map\": null") }
        if let error { fields.append("\"error\": \(Self.quoted(error))") }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// `text` as a JSON string. `scriptSafe` also escapes "<", U+2028 and U+2029, so that the
    /// string can sit inside an HTML <script> element (report.html).
    package static func quoted(_ text: String, scriptSafe: Bool = false) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<" where scriptSafe: out += "\\u003c"
            case "\u{2028}" where scriptSafe: out += "\\u2028"
            case "\u{2029}" where scriptSafe: out += "\\u2029"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

public struct ResultWriterError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The output folder of a run: `results.jsonl`, one line per image written and flushed as the
/// image finishes (so a crash loses nothing already written), and under `maps/` the anomaly
/// maps (`.npy`) and their overlays (`.png`), named after the image's relative path with its
/// extension replaced. Safe to call from several threads.
public final class ResultWriter: Sendable {
    public let directory: URL
    public var resultsURL: URL { directory.appendingPathComponent("results.jsonl") }

    private let handle: Mutex<FileHandle?>
    private let mapStems: [String: String]

    /// - Parameters:
    ///   - directory: the output folder, created when missing; nil for a new folder
    ///     `./winclip-results/<datasetName>-<yyyyMMdd-HHmmss>` (see `newDefaultDirectory`).
    ///   - images: the relative paths of every image of the run, so that images that differ only
    ///     by extension (a.png, a.jpg) get distinct map names (a.png.npy, a.jpg.npy).
    ///   - replaceExisting: overwrite a results.jsonl already in `directory` (else an error).
    ///   - append: add to the results.jsonl already there (`--resume`).
    public init(directory: URL?, datasetName: String, images: [String] = [],
                replaceExisting: Bool = false, append: Bool = false, now: Date = Date()) throws {
        let fm = FileManager.default
        if let directory {
            try OutputFailure.translating(path: directory.path) { try fm.createDirectory(at: directory, withIntermediateDirectories: true) }
            self.directory = directory
        } else {
            self.directory = try Self.newDefaultDirectory(
                in: URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("winclip-results"),
                datasetName: datasetName, now: now)
        }
        mapStems = Self.mapStems(for: images)

        let results = self.directory.appendingPathComponent("results.jsonl")
        if FileStatus.of(results).isDirectory { throw OutputFailure(.isFolder, path: results.path) }
        if append, fm.fileExists(atPath: results.path) {
            let file = try OutputFailure.translating(path: results.path) { try FileHandle(forWritingTo: results) }
            try file.seekToEnd()
            handle = Mutex(file)
            return
        }
        // An empty results.jsonl (a submit that never reached a coordinator) blocks nothing.
        let existing = (try? fm.attributesOfItem(atPath: results.path)[.size] as? Int) ?? nil
        if let size = existing, size > 0, !replaceExisting {
            throw ResultWriterError("\(results.path) already holds results; continue that job with --resume, or choose another --output")
        }
        handle = Mutex(try OutputFailure.translating(path: results.path) {
            try Data().write(to: results)
            return try FileHandle(forWritingTo: results)
        })
    }

    deinit { try? handle.withLock { try $0?.close() } }

    /// Appends one line. Each line goes to the file in a single write(2): nothing is buffered.
    public func write(_ result: ImageResult) throws {
        let line = Data((result.jsonLine + "\n").utf8)
        try handle.withLock { file in
            guard let file else { throw ResultWriterError("\(resultsURL.path) is already closed") }
            try OutputFailure.translating(path: resultsURL.path) { try file.write(contentsOf: line) }
        }
    }

    public func close() throws {
        try handle.withLock { file in
            try OutputFailure.translating(path: resultsURL.path) { try file?.close() }
            file = nil
        }
    }

    /// Saves an anomaly map (row-major, `height` x `width`) as float32 .npy; returns its path
    /// relative to `directory`, for the result's `map` field.
    @discardableResult
    public func saveMap(_ map: [Float], width: Int, height: Int, for image: String) throws -> String {
        let path = mapPath(for: image, extension: "npy")
        let url = directory.appendingPathComponent(path)
        try OutputFailure.translating(path: url.path) { try NPYWriter.write(map, shape: [height, width], to: url) }
        return path
    }

    /// `maps/<relative path without its extension>.<ext>`.
    public func mapPath(for image: String, extension ext: String) -> String {
        outputPath(for: image, folder: "maps", extension: ext)
    }

    /// `<folder>/<relative path without its extension>.<ext>` (pictures, thumbnails, masks).
    public func outputPath(for image: String, folder: String, extension ext: String) -> String {
        folder + "/" + (mapStems[image] ?? Self.withoutExtension(image)) + "." + ext
    }

    // MARK: - naming

    /// A new folder `<base>/<datasetName>-<yyyyMMdd-HHmmss>` (local time), with `-2`, `-3`, ...
    /// appended when that name is taken. Creating it is the test for being taken, so two runs
    /// started in the same second get different folders.
    public static func newDefaultDirectory(in base: URL, datasetName: String, now: Date = Date()) throws -> URL {
        let fm = FileManager.default
        try fm.createDirectory(at: base, withIntermediateDirectories: true)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let name = "\(datasetName)-\(formatter.string(from: now))"
        for attempt in 1...1000 {
            let candidate = base.appendingPathComponent(attempt == 1 ? name : "\(name)-\(attempt)")
            if fm.fileExists(atPath: candidate.path) { continue }
            do {
                try fm.createDirectory(at: candidate, withIntermediateDirectories: false)
                return candidate
            } catch where fm.fileExists(atPath: candidate.path) {
                continue  // created by someone else in between
            }
        }
        throw ResultWriterError("cannot create a new output folder \(base.appendingPathComponent(name).path)")
    }

    /// Map names for images whose paths without extension collide keep their full name.
    package static func mapStems(for images: [String]) -> [String: String] {
        let groups = Dictionary(grouping: images, by: withoutExtension)
        var stems: [String: String] = [:]
        for members in groups.values where Set(members).count > 1 {
            for image in members { stems[image] = image }
        }
        return stems
    }

    package static func withoutExtension(_ path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        guard let dot = path[slash...].lastIndex(of: "."), dot > slash else { return path }
        return String(path[..<dot])
    }
}
