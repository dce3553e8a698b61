import Foundation

/// One protocol message: a fixed header frame, a JSON body frame, and binary blob frames
/// (little-endian float32 arrays). See docs/protocol.md.
///
///     frame 0: "WCLP" | u16 LE version | u8 type      (7 bytes)
///     frame 1: JSON object, the body of the type
///     frame 2...: blobs named by the body
public struct WireMessage: Sendable, Equatable {
    public static let magic = Data("WCLP".utf8)
    public static let version: UInt16 = 2
    /// The largest JSON body (64 KiB): the largest legitimate one is a UNIT or SUBMIT whose
    /// options carry a custom prompt set, itself bounded (`PromptSet.maxTextBytes`).
    public static let maxBodyBytes = 64 << 10

    public var type: MessageType
    public var body: Data
    public var blobs: [Data]

    public init(type: MessageType, body: Data = Data("{}".utf8), blobs: [Data] = []) {
        self.type = type
        self.body = body
        self.blobs = blobs
    }

    /// Non-finite numbers are written as strings ("nan", "inf", "-inf"), so encoding the
    /// message bodies (plain structs of numbers, strings and arrays) cannot fail.
    public init<T: Encodable>(_ type: MessageType, _ body: T, blobs: [Data] = []) {
        self.type = type
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { self.body = try encoder.encode(body) } catch { preconditionFailure("a \(type) body failed to encode: \(error)") }
        self.blobs = blobs
    }

    public var frames: [Data] {
        var header = WireMessage.magic
        header.append(UInt8(WireMessage.version & 0xff))
        header.append(UInt8(WireMessage.version >> 8))
        header.append(type.rawValue)
        return [header, body] + blobs
    }

    /// Parses frames; any malformed input is a `ProtocolError`, never a crash.
    public init(frames: [Data]) throws {
        guard frames.count >= 2 else { throw ProtocolError("message of \(frames.count) frame(s); at least header and body are needed") }
        let header = frames[0]
        guard header.count == 7, header.prefix(4) == WireMessage.magic else {
            throw ProtocolError("bad header frame (\(header.count) bytes): not a winclip-cluster message")
        }
        let bytes = [UInt8](header)
        let version = UInt16(bytes[4]) | UInt16(bytes[5]) << 8
        guard version == WireMessage.version else {
            throw ProtocolError("protocol version \(version), this program speaks \(WireMessage.version); upgrade the older side")
        }
        guard let type = MessageType(rawValue: bytes[6]) else { throw ProtocolError("unknown message type \(bytes[6])") }
        guard frames[1].count <= WireMessage.maxBodyBytes else { throw ProtocolError("message body of \(frames[1].count) bytes exceeds \(WireMessage.maxBodyBytes)") }
        self.type = type
        body = frames[1]
        blobs = Array(frames.dropFirst(2))
    }

    public func decode<T: Decodable>(_: T.Type) throws -> T {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { return try decoder.decode(T.self, from: body) } catch {
            throw ProtocolError("malformed \(type) body: \(error)")
        }
    }
}

public struct ProtocolError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// [Float] <-> little-endian float32 bytes.
public enum FloatBlob {
    public static func encode(_ values: [Float]) -> Data {
        var data = Data(count: values.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        return data
    }

    public static func decode(_ data: Data) throws -> [Float] {
        guard data.count % 4 == 0 else { throw ProtocolError("float blob of \(data.count) bytes is not a multiple of 4") }
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }
}
