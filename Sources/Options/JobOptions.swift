/// The options of a job: everything that decides what it computes. One type for the command
/// line, `cluster.yaml` (its `winclip:` section) and the wire, validated by one function.
public struct JobOptions: Codable, Hashable, Sendable {
    /// The object's name in the prompts; nil until the dataset decides it (anomalib: the
    /// datamodule's category, else "object"). A submitted job always has one.
    public var className: String?
    /// Window sizes in patches (anomalib's default 2 and 3).
    public var scales: [Int]
    public var windowAttention: WindowAttention
    public var task: ScoringTask
    public var precision: Precision
    /// Zero-shot segmentation: maps only for images whose score is at least this (nil: all).
    public var segmentAbove: Float?
    /// The prompt ensemble (nil: anomalib's).
    public var prompts: PromptSet?

    public static let defaultScales = [2, 3]
    /// anomalib's default class name when the dataset names no category.
    public static let defaultClassName = "object"
    /// Longest class name, in characters (it is put into every prompt, and peers log it).
    public static let maxClassNameCharacters = 256

    public init(className: String? = nil, scales: [Int] = JobOptions.defaultScales,
                windowAttention: WindowAttention = .default, task: ScoringTask = .segmentation,
                precision: Precision = .fp32, segmentAbove: Float? = nil, prompts: PromptSet? = nil) {
        self.className = className
        self.scales = scales
        self.windowAttention = windowAttention
        self.task = task
        self.precision = precision
        self.segmentAbove = segmentAbove
        self.prompts = prompts
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case className = "class_name", scales, windowAttention = "window_attention", task, precision, segmentAbove = "segment_above", prompts
    }

    /// Every key optional (defaults above); unknown keys are errors.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = JobOptions()
        className = try c.decodeIfPresent(String.self, forKey: .className)
        scales = try c.decodeIfPresent([Int].self, forKey: .scales) ?? d.scales
        windowAttention = try c.decodeIfPresent(WindowAttention.self, forKey: .windowAttention) ?? d.windowAttention
        task = try c.decodeIfPresent(ScoringTask.self, forKey: .task) ?? d.task
        precision = try c.decodeIfPresent(Precision.self, forKey: .precision) ?? d.precision
        segmentAbove = try c.decodeIfPresent(Float.self, forKey: .segmentAbove)
        prompts = try c.decodeIfPresent(PromptSet.self, forKey: .prompts)
    }

    /// The checks that need no model: called by the CLI before any work and by the
    /// coordinator on every submit (which also requires a class name).
    public func validate(referenceCount: Int) throws(OptionsError) {
        var problems: [String] = []
        if className?.isEmpty == true { problems.append("the class name is empty") }
        if let name = className, name.count > Self.maxClassNameCharacters {
            problems.append("the class name has \(name.count) characters, more than \(Self.maxClassNameCharacters)")
        }
        if scales.isEmpty { problems.append("at least one window scale is needed (e.g. 2,3)") }
        if let bad = scales.first(where: { $0 < 1 }) { problems.append("window scale \(bad) must be a positive number of patches") }
        if Set(scales).count != scales.count { problems.append("window scales \(scales) repeat a scale") }
        if referenceCount < 0 { problems.append("a negative number of reference images") }
        if task == .classification && referenceCount > 0 {
            problems.append("few-shot classification needs the windows (anomalib's few-shot image score comes from the window map): use --task segmentation, or drop the references")
        }
        if let above = segmentAbove {
            if !above.isFinite { problems.append("--segment-above must be a finite score") }
            if referenceCount > 0 { problems.append("--segment-above is zero-shot only: a few-shot image score needs the windows of every image") }
            if task == .classification { problems.append("--segment-above makes maps, so it needs --task segmentation") }
        }
        if let prompts {
            do { try prompts.validate() } catch { problems.append(error.description) }
        }
        if !problems.isEmpty { throw OptionsError(problems.joined(separator: "; ")) }
    }

    /// The checks against the model's patch grid, once the model is known.
    public func validate(referenceCount: Int, gridSize: Int) throws(OptionsError) {
        try validate(referenceCount: referenceCount)
        if let bad = scales.first(where: { $0 > gridSize }) {
            throw OptionsError("window scale \(bad) exceeds the model's \(gridSize)x\(gridSize) patch grid")
        }
    }
}

/// Options that cannot be used, and why.
public struct OptionsError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
