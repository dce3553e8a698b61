import Foundation

/// The decision rule of a run as saved in `thresholds.json`: per level (image, pixel) the
/// threshold and the min/max that anomalib's normalisation uses, plus the model fingerprint and
/// job options of the run that learned it (opaque here: the job code fills and checks them).
///
///     {
///       "version": 1,
///       "image": {"threshold": 0.53, "min": 0.12, "max": 0.97, "source": "f1_optimal", "f1": 0.91},
///       "pixel": {"threshold": 0.41, "min": 0.0, "max": 1.0, "source": "f1_optimal", "f1": 0.47},
///       "fingerprint": "…", "options": {…}
///     }
public struct Thresholds: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    /// Where a level's threshold came from.
    public enum Source: String, Codable, Sendable, CaseIterable {
        case f1Optimal = "f1_optimal"
        /// Learned without anomalous samples: the highest score (anomalib's fallback).
        case noAnomalousSamples = "no_anomalous_samples"
        /// Learned without normal samples: the lowest score (anomalib's fallback).
        case noNormalSamples = "no_normal_samples"
        /// Given by hand (`--threshold`).
        case manual

        public init(_ basis: AdaptiveThreshold.Basis) {
            switch basis {
            case .f1Optimal: self = .f1Optimal
            case .noAnomalousSamples: self = .noAnomalousSamples
            case .noNormalSamples: self = .noNormalSamples
            }
        }
    }

    /// One level's threshold and normalisation range.
    public struct Level: Codable, Sendable, Equatable {
        public var threshold: Float
        public var min: Float
        public var max: Float
        public var source: Source
        /// F1 on the precision-recall curve at `threshold` (learned thresholds only).
        public var f1: Float?

        public init(threshold: Float, min: Float, max: Float, source: Source, f1: Float? = nil) {
            self.threshold = threshold
            self.min = min
            self.max = max
            self.source = source
            self.f1 = f1
        }

        /// A learned threshold with the range of the values it was learned on.
        public init(_ learned: AdaptiveThreshold, range: ClosedRange<Float>) {
            self.init(threshold: learned.value, min: range.lowerBound, max: range.upperBound,
                      source: Source(learned.basis), f1: learned.f1)
        }

        public var normalization: ScoreNormalization { ScoreNormalization(threshold: threshold, min: min, max: max) }
    }

    public var version: Int
    public var image: Level?
    public var pixel: Level?
    /// The model fingerprint of the run that produced these thresholds.
    public var fingerprint: String?
    /// The job options of that run, as the job code encodes them.
    public var options: JSONValue?

    public init(image: Level?, pixel: Level?, fingerprint: String? = nil, options: JSONValue? = nil) {
        self.version = Self.currentVersion
        self.image = image
        self.pixel = pixel
        self.fingerprint = fingerprint
        self.options = options
    }

    /// The image-level normalisation and decision (nil without an image level).
    public var imageNormalization: ScoreNormalization? { image?.normalization }

    /// The pixel-level normalisation anomalib applies: the pixel threshold and range; without a
    /// pixel level, the image threshold with the image range (anomalib matches the missing
    /// threshold to the other level's; the range of the maps is the caller's to give then).
    public func pixelNormalization(mapRange: ClosedRange<Float>? = nil) -> ScoreNormalization? {
        if let pixel { return pixel.normalization }
        guard let image else { return nil }
        let range = mapRange ?? image.min...image.max
        return ScoreNormalization(threshold: image.threshold, min: range.lowerBound, max: range.upperBound)
    }

    /// Learns both levels from a labelled run as anomalib's `PostProcessor` does on its
    /// validation set: the F1-optimal thresholds and the min/max of the image scores and of the
    /// map values.
    /// - Parameters:
    ///   - scores, labels: one per scored, labelled image (true = anomalous).
    ///   - maps: the anomaly maps of all scored images (for the pixel range), or nil.
    ///   - maskedMaps, masks: the maps of the images that have a ground-truth mask, with their
    ///     masks (good images: all false), for the pixel threshold; nil for no pixel level.
    public static func learn(scores: [Float], labels: [Bool], maps: [[Float]]? = nil,
                             maskedMaps: [[Float]]? = nil, masks: [[Bool]]? = nil) throws -> Thresholds {
        let imageThreshold = try AnomalyThresholds.f1Adaptive(scores: scores, labels: labels)
        let imageRange = AnomalyThresholds.range(of: scores)!  // non-empty and finite, checked above
        var pixel: Level?
        if let maskedMaps, let masks, !maskedMaps.isEmpty {
            let pixelThreshold = try AnomalyThresholds.f1Adaptive(maps: maskedMaps, masks: masks)
            let mapRange = AnomalyThresholds.range(ofMaps: maps ?? maskedMaps) ?? AnomalyThresholds.range(ofMaps: maskedMaps)!
            pixel = Level(pixelThreshold, range: mapRange)
        }
        return Thresholds(image: Level(imageThreshold, range: imageRange), pixel: pixel)
    }

    // MARK: - file

    /// Checks what a reader relies on: a known version, finite values, min <= max.
    public func validate() throws {
        guard version == Self.currentVersion else {
            throw ThresholdsFileError("version \(version) is not supported (this program reads version \(Self.currentVersion))")
        }
        guard image != nil || pixel != nil else { throw ThresholdsFileError("neither an image nor a pixel threshold") }
        for (name, level) in [("image", image), ("pixel", pixel)] {
            guard let level else { continue }
            for (field, v) in [("threshold", level.threshold), ("min", level.min), ("max", level.max)] where !v.isFinite {
                throw ThresholdsFileError("\(name).\(field) is \(v), not a finite number")
            }
            guard level.min <= level.max else { throw ThresholdsFileError("\(name).min \(level.min) is above \(name).max \(level.max)") }
        }
    }

    public func encoded() throws -> Data {
        try validate()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    public static func decode(_ data: Data, path: String = "<memory>") throws -> Thresholds {
        let value: Thresholds
        do {
            value = try JSONDecoder().decode(Thresholds.self, from: data)
        } catch let error as DecodingError {
            throw ThresholdsFileError("\(path): \(Self.describe(error))")
        }
        do { try value.validate() } catch let error as ThresholdsFileError {
            throw ThresholdsFileError("\(path): \(error.description)")
        }
        return value
    }

    public static func load(from url: URL) throws -> Thresholds {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ThresholdsFileError("cannot read thresholds file \(url.path): \((error as NSError).localizedDescription)")
        }
        return try decode(data, path: url.path)
    }

    /// Writes the file atomically (a reader never sees half of it).
    public func save(to url: URL) throws {
        let data: Data
        do { data = try encoded() } catch let error as ThresholdsFileError {
            throw ThresholdsFileError("cannot write \(url.path): \(error.description)")
        }
        try data.write(to: url, options: .atomic)
    }

    private static func describe(_ error: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let ctx): return "missing field '\(at(ctx.codingPath + [key]))'"
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx):
            return "wrong type at '\(at(ctx.codingPath))': \(ctx.debugDescription)"
        case .dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? "not a JSON thresholds file (\(ctx.debugDescription))"
                                          : "invalid value at '\(at(ctx.codingPath))': \(ctx.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

public struct ThresholdsFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
