import Foundation

/// A message whose blobs do not have the shape its body and the receiver's model call for.
/// Decoders of the typed payloads (UnitSpec, UnitReply, JobEmbeddings, ImageUpload,
/// ImageAnswer) throw it naming the blob and what was expected; values (NaN included) are never
/// refused here: whoever uses them decides.
public enum PayloadError: Error, Equatable, CustomStringConvertible {
    /// The message carries `actual` blobs where its body calls for `expected`.
    case blobCount(MessageType, expected: Int, actual: Int)
    /// A blob of a fixed size has another.
    case blobSize(MessageType, blob: String, expectedBytes: Int, actualBytes: Int)
    /// A blob of a variable size is not a whole number of its rows (`rowBytes`: 4 for a float).
    case ragged(MessageType, blob: String, rowBytes: Int, actualBytes: Int)
    /// Body fields that contradict each other or the blobs (e.g. a window range out of bounds).
    case body(MessageType, String)

    public var description: String {
        switch self {
        case .blobCount(let type, let expected, let actual):
            return "\(type) carries \(actual) blob(s), expected \(expected)"
        case .blobSize(let type, let blob, let expected, let actual):
            return "\(type) blob '\(blob)' holds \(actual) bytes, expected \(expected)"
        case .ragged(let type, let blob, let row, let actual):
            return "\(type) blob '\(blob)' holds \(actual) bytes, not a whole number of \(row)-byte rows"
        case .body(let type, let reason):
            return "\(type): \(reason)"
        }
    }
}

/// The blob checks the decoders share: sizes in floats, errors naming the blob.
struct BlobReader {
    let message: WireMessage

    func expectCount(_ expected: Int) throws(PayloadError) {
        guard message.blobs.count == expected else { throw .blobCount(message.type, expected: expected, actual: message.blobs.count) }
    }

    /// Blob `index` as raw bytes of exactly `floats` float32 values.
    func bytes(_ index: Int, _ name: String, floats: Int) throws(PayloadError) -> Data {
        let blob = message.blobs[index]
        guard blob.count == 4 * floats else { throw .blobSize(message.type, blob: name, expectedBytes: 4 * floats, actualBytes: blob.count) }
        return blob
    }

    /// Blob `index` as floats: exactly `count` of them when given, else a whole number of
    /// `multipleOf` (at least one float).
    func floats(_ index: Int, _ name: String, count: Int? = nil, multipleOf row: Int = 1) throws(PayloadError) -> [Float] {
        let blob = message.blobs[index]
        if let count {
            guard blob.count == 4 * count else { throw .blobSize(message.type, blob: name, expectedBytes: 4 * count, actualBytes: blob.count) }
        } else {
            guard row > 0, blob.count % (4 * row) == 0 else { throw .ragged(message.type, blob: name, rowBytes: 4 * row, actualBytes: blob.count) }
        }
        return FloatBlob.floats(blob)
    }
}

extension FloatBlob {
    /// The floats of a blob already checked to be a whole number of them.
    package static func floats(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    /// Float arrays equal bit for bit (NaN equals the same NaN; 0 and -0 differ): what two
    /// workers computing the same thing must produce.
    package static func identical(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
    }

    package static func identical(_ a: [Float]?, _ b: [Float]?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let a?, let b?): return identical(a, b)
        default: return false
        }
    }
}
