import Configuration
import Foundation
import Hub
import Report

extension ReportFact {
    /// The model by name: its config (a built-in name, or a JSON file's name) and its weights (the
    /// `--weights` file or URL, else the pretrained tag), with the fingerprint that identifies it:
    /// "ViT-B-16-plus-240, pretrained laion400m_e31 (default); fingerprint …". Without a
    /// fingerprint the coordinator's workers chose the model, so only that is said.
    static func model(_ model: ClusterConfig.ModelSection, fingerprint: String?) -> ReportFact {
        guard let fingerprint else { return ReportFact("model", "the model of the coordinator's workers") }
        let config = model.config.hasSuffix(".json") ? URL(fileURLWithPath: model.config).lastPathComponent : model.config
        let weights: String
        if let file = model.weights {
            weights = "weights " + (file.hasPrefix("hf://") ? file : URL(fileURLWithPath: file).lastPathComponent)
        } else if let tag = model.pretrained {
            weights = "pretrained " + tag
        } else if let tag = PretrainedWeights.defaultTags[model.config] {
            weights = "pretrained " + tag + " (default)"
        } else {
            weights = "default weights"
        }
        return ReportFact("model", "\(config), \(weights); fingerprint \(fingerprint)")
    }
}
