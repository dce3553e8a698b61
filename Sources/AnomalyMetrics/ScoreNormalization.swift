/// anomalib 2.x's min-max normalisation with the threshold mapped to 0.5 (`PostProcessor._normalize`)
/// and its decision (`_apply_threshold` with the default sensitivity 0.5):
///
///     normalized = clamp((value - threshold) / (max - min) + 0.5, 0, 1)
///     anomalous  = normalized > 0.5
///
/// in float32, operation by operation as torch runs it (anomalib 2.7). Edge cases kept from
/// anomalib: when `max == min` the value becomes 1 above the threshold, 0 below it and 0.5 otherwise;
/// a NaN value stays NaN (clamp keeps it) and is never anomalous; a value equal to the threshold
/// normalises to exactly 0.5 and is predicted normal.
public struct ScoreNormalization: Codable, Sendable, Equatable {
    public var threshold: Float
    public var min: Float
    public var max: Float

    public init(threshold: Float, min: Float, max: Float) {
        self.threshold = threshold
        self.min = min
        self.max = max
    }

    /// Without a threshold anomalib uses the middle of the range, `(max + min) / 2`: plain min-max
    /// normalisation.
    public init(min: Float, max: Float) {
        self.init(threshold: (max + min) / 2, min: min, max: max)
    }

    /// The value mapped onto [0, 1] with the threshold at 0.5.
    @inline(__always)
    public func normalize(_ value: Float) -> Float {
        let span = max - min
        if span == 0 { return value > threshold ? 1 : (value < threshold ? 0 : 0.5) }
        let v = ((value - threshold) / span) + 0.5
        if v.isNaN { return v }
        return Swift.min(Swift.max(v, 0), 1)
    }

    /// anomalib's decision for a raw value: normalized > 0.5.
    @inline(__always)
    public func isAnomalous(_ value: Float) -> Bool { normalize(value) > 0.5 }

    /// `normalize` over a whole map.
    public func normalize(_ values: [Float]) -> [Float] { values.map(normalize) }
}
