import ArgumentParser
import Configuration
import Datasets
import Options
import Outputs
import Transport
import ImageInput

// The flags several commands share, as option groups (`@OptionGroup`), and the option
// enums usable directly as arguments. Each group applies itself to the one configuration
// (`ClusterConfig`, whose `winclip` section is the job's `JobOptions`).

extension WindowAttention: ExpressibleByArgument {}
extension ScoringTask: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension DatasetLayout: ExpressibleByArgument {}
extension MapNormalization.Mode: ExpressibleByArgument {}
extension SixteenBitMode: ExpressibleByArgument {}

/// `--config` and `--endpoint`.
public struct ClusterFlags: ParsableArguments {
    @Option(help: "Cluster config (cluster.yaml): coordinator endpoint, model, WinCLIP options, worker threads.")
    public var config: String?

    @Option(help: "Coordinator endpoint, overriding coordinator.endpoint (e.g. tcp://10.0.0.5:5555).")
    public var endpoint: String?

    @Option(help: "security.mode curve: this worker's, client's or operator's secret key (NAME.key_secret), overriding security.secret_key.")
    public var secretKey: String?

    public init() {}

    /// The file's configuration (every default without --config) with --endpoint and
    /// --secret-key applied.
    public func load() throws -> ClusterConfig {
        var c = try config.map { try ClusterConfig.load(path: $0) } ?? ClusterConfig()
        if let endpoint {
            if let problem = EndpointAddress.portProblem(endpoint) { throw ClusterConfig.ConfigError("--endpoint: \(problem)") }
            c.coordinator.endpoint = endpoint
        }
        if let secretKey { c.security.secretKey = secretKey }
        return c
    }
}

/// Which model: `--model-config` and `--weights`.
public struct ModelFlags: ParsableArguments {
    @Option(help: "Model config: a built-in name (ViT-B-16-plus-240, ViT-B-16, ViT-B-32) or an open_clip JSON file, overriding model.config.")
    public var modelConfig: String?

    @Option(help: "Weights: an open_clip safetensors checkpoint (F32, F16 or BF16), a local file or hf://OWNER/REPO[@REVISION]/FILE, overriding model.weights; wins over a pretrained tag.")
    public var weights: String?

    @Option(help: "open_clip pretrained tag of a built-in model config (default: laion400m_e31 for ViT-B-16-plus-240), fetched from the Hugging Face hub into its cache on first use; overrides model.pretrained.")
    public var pretrained: String?

    public init() {}

    public func apply(to config: inout ClusterConfig) {
        if let modelConfig { config.model.config = modelConfig }
        if let weights { config.model.weights = weights }
        if let pretrained { config.model.pretrained = pretrained }
    }
}

/// What a job computes: the flags that fill `JobOptions`.
public struct JobFlags: ParsableArguments {
    @Option(help: "Object class for the prompts (default: the dataset's category, e.g. the MVTec category folder's name, else 'object').")
    public var className: String?

    @Option(help: "Window scales in patches, comma-separated (default 2,3).", transform: JobFlags.parseScales)
    public var scales: [Int]?

    @Option(help: "Window attention: 'window' (default: each window attends within itself, as in the WinCLIP paper and in anomalib with the open_clip it pins) or 'cross' (what anomalib computes on open_clip >= 2.26.1, outside its supported range).",
            transform: { try WindowAttention.parse($0) })
    public var windowAttention: WindowAttention?

    @Option(help: "segmentation (default: scores and maps) or classification (zero-shot image scores from the full pass alone, several times faster, no maps).")
    public var task: ScoringTask?

    @Option(help: "Zero-shot segmentation: compute maps only for images scoring at least this; the others get \"map\": null.")
    public var segmentAbove: Float?

    @Option(help: "fp32 (default) or bf16 (oneDNN bf16 linear layers, on CPUs with AVX512_BF16 or AMX).")
    public var precision: Precision?

    @Option(help: "Prompt ensemble file (YAML or JSON: normal_states, anomalous_states, templates, with {} for the class name and the state; default: anomalib's).")
    public var prompts: String?

    public init() {}

    public func apply(to options: inout JobOptions) throws {
        if let prompts { options.prompts = try PromptFile.load(path: prompts) }
        if let className { options.className = className }
        if let scales { options.scales = scales }
        if let windowAttention { options.windowAttention = windowAttention }
        if let task { options.task = task }
        if let segmentAbove { options.segmentAbove = segmentAbove }
        if let precision { options.precision = precision }
    }

    package static func parseScales(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map {
            guard let v = Int($0.trimmingCharacters(in: .whitespaces)), v > 0 else { throw ValidationError("--scales takes positive integers like 2,3") }
            return v
        }
    }
}
