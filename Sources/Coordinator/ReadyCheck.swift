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
    static func problem(_ r: Ready, model: CoordinatorModel?) -> ReadyProblem? {
        for (field, value) in [("name", r.name), ("model", r.model), ("fingerprint", r.fingerprint)] where value.count > maxStringCharacters {
            return .tooLong(field: field, characters: value.count)
        }
        guard (1...maxImageSize).contains(r.imageSize), (1...maxGridSize).contains(r.gridSize), r.imageSize % r.gridSize == 0 else {
            return .implausibleGeometry(imageSize: r.imageSize, gridSize: r.gridSize)
        }
        guard !r.precisions.isEmpty, r.precisions.count <= 8 else { return .precisionCount(r.precisions.count) }
        guard let model else { return nil }
        if r.imageSize != model.imageSize || r.gridSize != model.gridSize {
            return .otherGeometry(imageSize: r.imageSize, gridSize: r.gridSize, model: model)
        }
        if !r.fingerprint.hasPrefix(model.configHash + "-") {
            return .otherConfig(fingerprint: r.fingerprint, model: model)
        }
        return nil
    }
}
