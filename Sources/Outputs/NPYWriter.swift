import Foundation

/// Float32 arrays as `.npy` files, byte for byte what `numpy.save` writes for a C-ordered
/// little-endian float32 array (format version 1.0):
///
///     \x93NUMPY \x01 \x00 <u16 header length> {'descr': '<f4', 'fortran_order': False, 'shape': (H, W), }
///
/// followed by numpy's spare growth space (21 minus the digits of the first dimension), spaces
/// up to a multiple of 64 bytes for the whole preamble (a full 64 when already aligned, as numpy
/// computes it), a newline, and the raw little-endian values.
public enum NPYWriter {
    public static func encode(_ values: [Float], shape: [Int]) -> Data {
        precondition(shape.allSatisfy { $0 >= 0 } && values.count == shape.reduce(1, *),
                     "\(values.count) values for shape \(shape)")
        var data = header(shape: shape)
        data.reserveCapacity(data.count + 4 * values.count)
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Writes the array to `url`, creating missing parent folders.
    public static func write(_ values: [Float], shape: [Int], to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encode(values, shape: shape).write(to: url, options: .atomic)
    }

    static func header(shape: [Int]) -> Data {
        // Python's repr of the shape tuple: (), (5,), (2, 3).
        let dims = shape.map(String.init)
        let tuple = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(tuple), }"
        if let first = dims.first {
            dict += String(repeating: " ", count: max(0, 21 - first.count))
        }
        let preamble = 6 + 2 + 2  // magic string, version, header length
        let padding = 64 - (preamble + dict.utf8.count + 1) % 64
        let text = dict + String(repeating: " ", count: padding) + "\n"

        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(text.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(text.utf8))
        return data
    }
}
