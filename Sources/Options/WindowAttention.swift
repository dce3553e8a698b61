/// How the tokens of WinCLIP's window sequences attend to each other.
public enum WindowAttention: String, Sendable, CaseIterable, Codable, Hashable {
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
    public static func parse(_ name: String) throws(OptionsError) -> WindowAttention {
        if let mode = WindowAttention(rawValue: name) { return mode }
        if name == "anomalib" {
            throw OptionsError("window attention 'anomalib' was renamed: use 'window' (the default; anomalib as it pins open_clip) or 'cross' (anomalib on open_clip >= 2.26.1); modes: \(names)")
        }
        throw OptionsError("unknown window attention '\(name)'; modes: \(names)")
    }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        do { self = try Self.parse(name) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
