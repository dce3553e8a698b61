import Foundation

/// WinCLIP's compositional prompt ensemble: normal and anomalous states of the object (with
/// `{}` for the class name), each put into every template (with `{}` for the state). The
/// default is anomalib's (`anomalib/models/image/winclip/prompting.py`) exactly; `--prompts
/// FILE` gives another, which then travels with the job's options (and its cache key).
public struct PromptSet: Codable, Hashable, Sendable {
    public var normalStates: [String]
    public var anomalousStates: [String]
    public var templates: [String]

    public init(normalStates: [String], anomalousStates: [String], templates: [String]) {
        self.normalStates = normalStates
        self.anomalousStates = anomalousStates
        self.templates = templates
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case normalStates = "normal_states", anomalousStates = "anomalous_states", templates
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        normalStates = try c.decode([String].self, forKey: .normalStates)
        anomalousStates = try c.decode([String].self, forKey: .anomalousStates)
        templates = try c.decode([String].self, forKey: .templates)
    }

    /// anomalib's ensemble: 7 normal and 4 anomalous states, each in 21 templates (one template
    /// appears twice, as in anomalib, and is kept so that the means equal anomalib's).
    public static let anomalib = PromptSet(
        normalStates: ["{}", "flawless {}", "perfect {}", "unblemished {}", "{} without flaw", "{} without defect", "{} without damage"],
        anomalousStates: ["damaged {}", "{} with flaw", "{} with defect", "{} with damage"],
        templates: [
            "a cropped photo of the {}.",
            "a close-up photo of a {}.",
            "a close-up photo of the {}.",
            "a bright photo of a {}.",
            "a bright photo of the {}.",
            "a dark photo of the {}.",
            "a dark photo of a {}.",
            "a jpeg corrupted photo of the {}.",
            "a jpeg corrupted photo of the {}.",
            "a blurry photo of the {}.",
            "a blurry photo of a {}.",
            "a photo of a {}.",
            "a photo of the {}.",
            "a photo of a small {}.",
            "a photo of the small {}.",
            "a photo of a large {}.",
            "a photo of the large {}.",
            "a photo of the {} for visual inspection.",
            "a photo of a {} for visual inspection.",
            "a photo of the {} for anomaly detection.",
            "a photo of a {} for anomaly detection.",
        ])

    /// (normal prompts, anomalous prompts) for a class name, in anomalib's order: states
    /// outer, templates inner.
    public func prompts(className: String) -> (normal: [String], anomalous: [String]) {
        func fill(_ pattern: String, _ value: String) -> String {
            // Python's str.format replaces the single "{}" once; a class name containing
            // braces is inserted literally.
            guard let r = pattern.range(of: "{}") else { return pattern }
            return pattern.replacingCharacters(in: r, with: value)
        }
        let normal = normalStates.map { fill($0, className) }.flatMap { state in templates.map { fill($0, state) } }
        let anomalous = anomalousStates.map { fill($0, className) }.flatMap { state in templates.map { fill($0, state) } }
        return (normal, anomalous)
    }

    /// Bounds of a prompt set (it travels in SUBMIT and UNIT bodies, and the text unit computes
    /// every state in every template): at most 64 strings per list, 256 characters each, and
    /// 16 KiB of UTF-8 in all. anomalib's has 11 states, 21 templates and under 1 KiB.
    public static let maxStrings = 64
    public static let maxStringCharacters = 256
    public static let maxTextBytes = 16 << 10

    /// Empty or oversized lists, a string with more than one `{}` (Python's `format` would fail
    /// on it), or a template without `{}` (it would drop the state: normal and anomalous prompts
    /// alike would be that one sentence, and the scores would mean nothing).
    public func validate() throws(OptionsError) {
        let all = normalStates + anomalousStates + templates
        let bytes = all.reduce(0) { $0 + $1.utf8.count }
        if bytes > Self.maxTextBytes { throw OptionsError("prompts: \(bytes) bytes of text, more than \(Self.maxTextBytes)") }
        for (name, list) in [("normal_states", normalStates), ("anomalous_states", anomalousStates), ("templates", templates)] {
            if list.isEmpty { throw OptionsError("prompts: \(name) is empty") }
            if list.count > Self.maxStrings { throw OptionsError("prompts: \(name) has \(list.count) entries, more than \(Self.maxStrings)") }
            if list.contains(where: { $0.count > Self.maxStringCharacters }) {
                throw OptionsError("prompts: an entry of \(name) is longer than \(Self.maxStringCharacters) characters")
            }
            if let bad = list.first(where: { $0.components(separatedBy: "{}").count > 2 }) {
                throw OptionsError("prompts: '\(bad)' in \(name) has more than one {} (one for the class name in states, one for the state in templates)")
            }
        }
        let missing = templates.filter { !$0.contains("{}") }
        if let first = missing.first {
            throw OptionsError("prompts: \(missing.count) of the templates lack {} for the state (the first: '\(first)'); each template needs one, e.g. 'a photo of a {}.'")
        }
    }
}
