import Foundation
import Protocol

/// Typed views of the messages the machine tests take from the harness (the tiny model:
/// images of 48 px).
extension WireMessage {
    func unitSpec(imageSize: Int = 48) throws -> UnitSpec { try UnitSpec(decoding: self, imageSize: imageSize) }

    func imageAnswer(imageSize: Int = 48) throws -> ImageAnswer { try ImageAnswer(decoding: self, imageSize: imageSize) }

    /// An IMAGE_RESULT's score (nil when the image failed).
    func score(imageSize: Int = 48) throws -> Float? {
        guard case .scored(let score, _) = try imageAnswer(imageSize: imageSize).verdict else { return nil }
        return score
    }

    /// An IMAGE_RESULT's map (nil when it has none).
    func map(imageSize: Int = 48) throws -> [Float]? {
        guard case .scored(_, let map) = try imageAnswer(imageSize: imageSize).verdict else { return nil }
        return map
    }
}
