import Foundation

/// Element types a safetensors file may store that the engine reads (converted to Float32).
public enum SafeTensorsDType: String, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i64 = "I64", i32 = "I32"

    var byteSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .f64, .i64: return 8
        }
    }
}

public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A memory-mapped safetensors file (https://github.com/huggingface/safetensors format:
/// u64 little-endian header length, JSON header, then the raw tensor bytes).
/// Every offset and shape is checked against the file size at open, so a truncated or
/// corrupt file is an error value, never an out-of-bounds read.
///
/// `@unchecked Sendable` is safe: every stored property is a `let` set in `init`, and the
/// mapped `Data` is only read (the mapping is private and read-only).
public final class SafeTensorsFile: @unchecked Sendable {
    public struct TensorInfo: Sendable {
        public let name: String
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        /// Byte range relative to the start of the data section.
        let begin: Int
        let end: Int
        public var count: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let data: Data  // memory-mapped, alive as long as this object
    private let dataStart: Int

    public convenience init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SafeTensorsError("cannot read weights file \(path): \(error.localizedDescription)")
        }
        try self.init(data: data, path: path)
    }

    public init(data input: Data, path: String = "<memory>") throws {
        // Offsets below count from 0; a slice of another Data is re-based first.
        let data = input.startIndex == 0 ? input : Data(input)
        self.path = path
        self.data = data
        guard data.count >= 8 else {
            throw SafeTensorsError("\(path): not a safetensors file (\(data.count) bytes, shorter than its 8-byte header length)")
        }
        let headerLength: UInt64 = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian }
        guard headerLength <= UInt64(data.count - 8), headerLength < 100_000_000 else {
            throw SafeTensorsError("\(path): header length \(headerLength) exceeds the file size \(data.count); the file is truncated or not safetensors")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerData = data.subdata(in: 8..<headerEnd)
        guard let json = try? JSONSerialization.jsonObject(with: headerData), let header = json as? [String: Any] else {
            throw SafeTensorsError("\(path): the safetensors header is not a JSON object; the file is corrupt")
        }
        dataStart = headerEnd
        let dataLength = data.count - headerEnd
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                if let m = value as? [String: Any] { for (k, v) in m { metadata[k] = "\(v)" } }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any],
                  let offsetsAny = entry["data_offsets"] as? [Any], offsetsAny.count == 2
            else { throw SafeTensorsError("\(path): malformed header entry for tensor '\(name)'") }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                throw SafeTensorsError("\(path): tensor '\(name)' has dtype \(dtypeName); supported: F32, F16, BF16, F64, I64, I32")
            }
            let shape = shapeAny.compactMap { ($0 as? NSNumber)?.intValue }
            let offsets = offsetsAny.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeAny.count, shape.allSatisfy({ $0 >= 0 }), offsets.count == 2 else {
                throw SafeTensorsError("\(path): malformed shape or offsets for tensor '\(name)'")
            }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow else { throw SafeTensorsError("\(path): tensor '\(name)' shape \(shape) overflows") }
                count = p
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin, end <= dataLength else {
                throw SafeTensorsError("\(path): tensor '\(name)' lies at bytes \(begin)..<\(end) but the data section has \(dataLength) bytes; the file is truncated or corrupt")
            }
            guard end - begin == count * dtype.byteSize else {
                throw SafeTensorsError("\(path): tensor '\(name)' of shape \(shape) and dtype \(dtypeName) needs \(count * dtype.byteSize) bytes but has \(end - begin)")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor's values converted to Float32, in row-major order.
    public func floats(_ name: String) throws -> [Float] {
        guard let info = tensors[name] else { throw SafeTensorsError("\(path): no tensor named '\(name)'") }
        return floats(info)
    }

    public func floats(_ info: TensorInfo) -> [Float] {
        let n = info.count
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
            let base = raw.baseAddress! + dataStart + info.begin
            return [Float](unsafeUninitializedCapacity: n) { out, initialized in
                switch info.dtype {
                case .f32:
                    for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case .f16:
                    for i in 0..<n { out[i] = halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                case .bf16:
                    for i in 0..<n { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
                case .f64:
                    for i in 0..<n { out[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
                case .i64:
                    for i in 0..<n { out[i] = Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
                case .i32:
                    for i in 0..<n { out[i] = Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
                }
                initialized = n
            }
        }
    }

    /// Integer tensors (token ids in fixtures) as Int.
    public func ints(_ name: String) throws -> [Int] {
        guard let info = tensors[name] else { throw SafeTensorsError("\(path): no tensor named '\(name)'") }
        switch info.dtype {
        case .i64:
            return data.withUnsafeBytes { raw in
                (0..<info.count).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + info.begin + 8 * $0, as: Int64.self))) }
            }
        case .i32:
            return data.withUnsafeBytes { raw in
                (0..<info.count).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + info.begin + 4 * $0, as: Int32.self))) }
            }
        default:
            return floats(info).map { Int($0) }
        }
    }

    public func shape(_ name: String) -> [Int]? { tensors[name]?.shape }
}

/// IEEE 754 binary16 to binary32, exact (subnormals, infinities and NaN included).
@inline(__always)
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1f)
    let mantissa = UInt32(h & 0x3ff)
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        // Subnormal: value = mantissa * 2^-24.
        let v = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exponent == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
}
