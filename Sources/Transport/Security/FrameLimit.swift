/// The largest frame (ZMQ_MAXMSGSIZE) a socket accepts from a peer. The bound for a known model
/// is computed from its geometry (`FrameLimit.bytes(for:maxReferences:)`, Configuration).
public enum FrameLimit {
    /// When the model is unknown: an IMAGE of the largest model input, with margin.
    public static let unknownModel: Int64 = 256 << 20
}
