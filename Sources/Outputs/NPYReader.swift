import Foundation

public struct NPYReadError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads back what `NPYWriter` writes (and `numpy.save` of a C-ordered little-endian float32
/// array, format 1.0 or 2.0): the values and the shape. Anything else is an error.
public enum NPYReader {
    public static func read(_ url: URL) throws -> (values: [Float], shape: [Int]) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw NPYReadError("cannot read \(url.path)") }
        return try decode(data, path: url.path)
    }

    public static func decode(_ data: Data, path: String = "<memory>") throws -> (values: [Float], shape: [Int]) {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw NPYReadError("\(path) is not a .npy file")
        }
        let major = bytes[6]
        let headerStart: Int, headerLength: Int
        switch major {
        case 1: headerStart = 10; headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else { throw NPYReadError("\(path): truncated header") }
            headerStart = 12
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        default: throw NPYReadError("\(path): .npy format version \(major) is not supported")
        }
        guard headerStart + headerLength <= bytes.count,
              let header = String(bytes: bytes[headerStart..<headerStart + headerLength], encoding: .utf8) else {
            throw NPYReadError("\(path): truncated header")
        }
        let compact = header.filter { !$0.isWhitespace }
        guard compact.contains("'descr':'<f4'") else { throw NPYReadError("\(path): only little-endian float32 ('<f4') is supported") }
        guard compact.contains("'fortran_order':False") else { throw NPYReadError("\(path): Fortran-ordered arrays are not supported") }
        guard let open = compact.range(of: "'shape':("), let close = compact[open.upperBound...].firstIndex(of: ")") else {
            throw NPYReadError("\(path): no shape in the header")
        }
        var shape: [Int] = []
        for part in compact[open.upperBound..<close].split(separator: ",") {
            guard let d = Int(part), d >= 0 else { throw NPYReadError("\(path): bad shape \(compact[open.upperBound..<close])") }
            shape.append(d)
        }
        let count = shape.reduce(1, *)
        let start = headerStart + headerLength
        guard bytes.count - start == 4 * count else {
            throw NPYReadError("\(path): \(bytes.count - start) data bytes for shape \(shape) (expected \(4 * count))")
        }
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let o = start + 4 * i
            values[i] = Float(bitPattern: UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24)
        }
        return (values, shape)
    }
}
