import Foundation

/// An open_clip CLIP model: config, weights and the two towers.
public struct CLIPModel: Sendable {
    public let config: ModelConfig
    public let vision: VisionTower
    public let text: TextTower
    public let logitScale: Float?

    public init(config: ModelConfig, weights: CLIPWeights) {
        self.config = config
        vision = VisionTower(config: config.vision, embedDim: config.embedDim, weights: weights.vision, quickGELU: config.quickGELU)
        text = TextTower(config: config.text, embedDim: config.embedDim, weights: weights.text, quickGELU: config.quickGELU)
        logitScale = weights.logitScale
    }

    /// Loads `weightsPath` (safetensors) for `config`.
    public init(config: ModelConfig, weightsPath: String) throws {
        self.init(config: config, weights: try CLIPWeights(path: weightsPath, config: config))
    }
}
