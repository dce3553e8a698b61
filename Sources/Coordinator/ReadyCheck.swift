import Foundation
import Protocol
import WinCLIP

/// The model a coordinator serves (from its `model.config`): a worker's READY must describe
/// the same geometry, and its fingerprint must start with this config's hash (the weights part
/// may differ: such workers are named to clients and get no unit of a job pinned elsewhere).
public struct CoordinatorModel: Sendable, Equatable {
    public let name: String
    public let configHash: String
    public let imageSize: Int
    public let gridSize: Int
    /// Embedding size E and vision width W: the sizes of setup answers (text `[E]`, reference
    /// patch tokens `[K·G²,W]`, reference windows `[K·n_s,E]`).
    public let embedDim: Int
    public let visionWidth: Int

    public init(config: ModelConfig) {
        self.init(name: config.name, configHash: ModelFingerprint.configHash(config), imageSize: config.vision.imageSize,
                  gridSize: config.vision.gridSize, embedDim: config.embedDim, visionWidth: config.vision.width)
    }

    public init(name: String, configHash: String, imageSize: Int, gridSize: Int, embedDim: Int, visionWidth: Int) {
        self.name = name
        self.configHash = configHash
        self.imageSize = imageSize
        self.gridSize = gridSize
        self.embedDim = embedDim
        self.visionWidth = visionWidth
    }
}

/// Whether a READY can be believed: sizes a model can have, strings of bounded length, and,
/// when the coordinator knows its model, the same geometry and config hash.
enum ReadyCheck {
    static let maxStringCharacters = 256
    static let maxImageSize = 4096
    static let maxGridSize = 256

    /// Why the READY is refused (nil: it is accepted).
    static func problem(_ r: Ready, model: CoordinatorModel?) -> String? {
        for (field, value) in [("name", r.name), ("model", r.model), ("fingerprint", r.fingerprint)] where value.count > maxStringCharacters {
            return "its \(field) has \(value.count) characters (at most \(maxStringCharacters))"
        }
        guard (1...maxImageSize).contains(r.imageSize), (1...maxGridSize).contains(r.gridSize), r.imageSize % r.gridSize == 0 else {
            return "imageSize \(r.imageSize) and gridSize \(r.gridSize) are not a model's (1...\(maxImageSize) pixels, a grid of 1...\(maxGridSize) that divides it)"
        }
        guard !r.precisions.isEmpty, r.precisions.count <= 8 else { return "it lists \(r.precisions.count) precisions" }
        guard let model else { return nil }
        if r.imageSize != model.imageSize || r.gridSize != model.gridSize {
            return "its model (input \(r.imageSize), grid \(r.gridSize)) is not the coordinator's \(model.name) (input \(model.imageSize), grid \(model.gridSize)): check model.config in both cluster.yaml files"
        }
        if !r.fingerprint.hasPrefix(model.configHash + "-") {
            return "its fingerprint \(r.fingerprint) does not match the config of the coordinator's model \(model.name) (\(model.configHash)-…): check model.config in both cluster.yaml files"
        }
        return nil
    }
}
