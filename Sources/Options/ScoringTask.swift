/// What a job computes for each image.
public enum ScoringTask: String, Sendable, CaseIterable, Codable, Hashable {
    /// Image scores and anomaly maps (the full pass and every window of every scale).
    case segmentation
    /// Zero-shot image scores only, from the full pass alone (the windows only make the map);
    /// bit-identical to the scores of a segmentation run at a fraction of its cost.
    case classification
}

/// The arithmetic of the heavy layers.
public enum Precision: String, Sendable, CaseIterable, Codable, Hashable {
    /// float32 everywhere: anomalib's float32 numbers (within 1e-5).
    case fp32
    /// bfloat16 linear layers (oneDNN) on CPUs with AVX512_BF16 or AMX; attention, norms and
    /// scoring stay float32.
    case bf16
}
