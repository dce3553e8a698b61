/// How the tokens of WinCLIP's window sequences attend to each other.
public enum WindowAttention: String, Sendable, CaseIterable, Codable {
    /// The WinCLIP paper's windows, and what anomalib computes as it pins open_clip
    /// (`open-clip-torch<2.26.1`, whose transformer is sequence-first): each window sequence
    /// (class token + its patches) attends only within itself. The default.
    case window
    /// What anomalib computes when installed with open_clip 2.26.1 or newer, outside its
    /// supported range: its `NLD -> LND` permute meets a batch-first transformer, so the tokens
    /// at each position attend across all windows of the image (and across images encoded
    /// together). Opt-in, for reproducing such numbers: images are encoded one at a time
    /// (anomalib at batch size 1), references together (as anomalib's setup does), and a
    /// scale's windows always run together.
    case cross

    public static let `default` = WindowAttention.window

    /// Parses a mode name; the old name `anomalib` is refused with what replaced it.
    public static func parse(_ name: String) throws -> WindowAttention {
        if let mode = WindowAttention(rawValue: name) { return mode }
        let modes = allCases.map(\.rawValue).joined(separator: ", ")
        if name == "anomalib" {
            throw ScoringError("window attention 'anomalib' was renamed: use 'window' (the default; anomalib as it pins open_clip) or 'cross' (anomalib on open_clip >= 2.26.1); modes: \(modes)")
        }
        throw ScoringError("unknown window attention '\(name)'; modes: \(modes)")
    }
}

/// A WinCLIP input or result that cannot be used, with the reason.
public struct ScoringError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
