import AnomalyMetrics

extension JetColormap {
    /// The colour matplotlib's `jet` gives a float32 value with `bytes=True`: index
    /// `Int(value * 256)` with 1.0 mapped to 255, values below 0 to the first colour and above 1
    /// to the last (jet's under/over colours); nil for NaN (matplotlib's "bad" colour is
    /// transparent, so the picture shows the image there).
    @inline(__always)
    public static func color(for value: Float) -> RGBColor? {
        guard let i = index(for: value) else { return nil }
        return RGBColor(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2])
    }

    /// matplotlib's `Colormap.__call__` for floats: `xa *= N; xa[xa == N] = N - 1`, clipped,
    /// truncated to int (in float32 for float32 input).
    @inline(__always)
    package static func index(for value: Float) -> Int? {
        if value.isNaN { return nil }
        let scaled = value * 256
        if scaled < 0 { return 0 }
        if scaled >= 256 { return 255 }
        return Int(scaled)
    }
}

/// How the heat map's values become colours (`--map-normalization`).
public enum MapNormalization: Sendable, Equatable {
    /// One colour scale for the whole job: anomalib's min-max normalisation with the pixel
    /// threshold at 0.5 (from the run's or the thresholds file's min/max; without a threshold
    /// the middle of the range), so that equal colours mean equal scores across pictures.
    case dataset(ScoreNormalization)
    /// Each map stretched over its own min...max (anomalib's `normalize=True`); a constant map
    /// is all 0.
    case image
    /// The raw values (WinCLIP's maps are probabilities in [0, 1]); outside [0, 1] they take
    /// the end colours.
    case none

    /// The option values.
    public enum Mode: String, Sendable, CaseIterable {
        case dataset, image, none
    }

    public var mode: Mode {
        switch self {
        case .dataset: return .dataset
        case .image: return .image
        case .none: return .none
        }
    }

    /// The map's values on the colour scale [0, 1].
    public func apply(_ map: [Float]) -> [Float] {
        switch self {
        case .dataset(let n):
            return n.normalize(map)
        case .image:
            guard let range = AnomalyThresholds.range(of: map), range.upperBound > range.lowerBound else {
                return map.map { $0.isNaN ? $0 : 0 }
            }
            let lo = range.lowerBound, span = range.upperBound - range.lowerBound
            return map.map { ($0 - lo) / span }
        case .none:
            return map
        }
    }

    /// `apply` to a resized copy of `map`, on `map`'s own scale: with `.image` the range is the
    /// original map's (what the colour bar prints), not the resized copy's, so the picture's
    /// panel and the full-size overlay colour a value alike.
    public func apply(_ resized: [Float], scaleOf map: [Float]) -> [Float] {
        guard case .image = self else { return apply(resized) }
        guard let range = AnomalyThresholds.range(of: map), range.upperBound > range.lowerBound else {
            return resized.map { $0.isNaN ? $0 : 0 }
        }
        let lo = range.lowerBound, span = range.upperBound - range.lowerBound
        return resized.map { ($0 - lo) / span }
    }
}

/// The raw map values at the two ends of a picture's colour scale: what its colour bar prints.
/// The first colour of `jet` (dark blue) shows `low` and below, the last (dark red) `high` and
/// above, linearly in between.
public struct HeatScale: Sendable, Equatable {
    public var low: Float
    public var high: Float

    public init(low: Float, high: Float) {
        self.low = low
        self.high = high
    }

    /// The raw value shown with colour `position` (0...1).
    public func value(at position: Float) -> Float { low + position * (high - low) }
}

extension MapNormalization {
    /// The colour scale of `map` under this normalisation (nil for `.image` on a map without a
    /// finite value). `.dataset` is the same for every map: its threshold sits in the middle.
    public func scale(for map: [Float]) -> HeatScale? {
        switch self {
        case .dataset(let n):
            let half = (n.max - n.min) / 2
            return HeatScale(low: n.threshold - half, high: n.threshold + half)
        case .image:
            return AnomalyThresholds.range(of: map).map { HeatScale(low: $0.lowerBound, high: $0.upperBound) }
        case .none:
            return HeatScale(low: 0, high: 1)
        }
    }
}
