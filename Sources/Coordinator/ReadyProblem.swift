import Foundation

/// Why a worker's READY cannot be believed (ReadyCheck.swift).
public enum ReadyProblem: Equatable, Sendable, CustomStringConvertible {
    /// A string field (name, model, fingerprint) longer than `ReadyCheck.maxStringCharacters`.
    case tooLong(field: String, characters: Int)
    /// Sizes no model has.
    case implausibleGeometry(imageSize: Int, gridSize: Int)
    /// No precision, or an absurd number of them.
    case precisionCount(Int)
    /// Another geometry than the coordinator's model.
    case otherGeometry(imageSize: Int, gridSize: Int, model: CoordinatorModel)
    /// A fingerprint of another model config than the coordinator's.
    case otherConfig(fingerprint: String, model: CoordinatorModel)

    public var description: String {
        switch self {
        case .tooLong(let field, let n):
            return "its \(field) has \(n) characters (at most \(ReadyCheck.maxStringCharacters))"
        case .implausibleGeometry(let imageSize, let gridSize):
            return "imageSize \(imageSize) and gridSize \(gridSize) are not a model's (1...\(ReadyCheck.maxImageSize) pixels, a grid of 1...\(ReadyCheck.maxGridSize) that divides it)"
        case .precisionCount(let n):
            return "it lists \(n) precisions"
        case .otherGeometry(let imageSize, let gridSize, let model):
            return "its model (input \(imageSize), grid \(gridSize)) is not the coordinator's \(model.name) (input \(model.imageSize), grid \(model.gridSize)): check model.config in both cluster.yaml files"
        case .otherConfig(let fingerprint, let model):
            return "its fingerprint \(fingerprint) does not match the config of the coordinator's model \(model.name) (\(model.configHash)-…): check model.config in both cluster.yaml files"
        }
    }
}
