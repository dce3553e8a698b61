import CZlib
import Foundation

/// Failure to decompress gzip data.
public struct GzipError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// gzip decompression through zlib (`inflateInit2` with `16 + MAX_WBITS`, i.e. gzip framing with
/// its CRC-32 and length checked). Concatenated gzip members are decoded one after another, as
/// Python's `gzip.open(...).read()` does.
enum Gzip {
    static func decompress(_ input: Data) throws -> Data {
        guard input.count >= 18 else {
            throw GzipError("not gzip data: \(input.count) bytes is shorter than a gzip header and trailer")
        }
        guard input[input.startIndex] == 0x1f, input[input.startIndex + 1] == 0x8b else {
            throw GzipError("not gzip data: the first two bytes are not the gzip magic 1f 8b")
        }
        var output = Data()
        output.reserveCapacity(input.count * 4)
        try input.withUnsafeBytes { (inBuffer: UnsafeRawBufferPointer) in
            var stream = z_stream()
            // `inflateInit2` is a C macro; call the function it expands to.
            var status = inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { throw GzipError("zlib inflateInit2 failed with status \(status)") }
            defer { inflateEnd(&stream) }

            let base = inBuffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.next_in = UnsafeMutablePointer(mutating: base)
            stream.avail_in = uInt(inBuffer.count)
            let chunkSize = 1 << 16
            var chunk = [UInt8](repeating: 0, count: chunkSize)
            while true {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunkSize)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return chunkSize - Int(stream.avail_out)
                }
                if produced > 0 { output.append(contentsOf: chunk[0..<produced]) }
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    // Another gzip member may follow; trailing zero padding is ignored like Python does.
                    let consumed = inBuffer.count - Int(stream.avail_in)
                    let rest = inBuffer[consumed...]
                    if rest.isEmpty || rest.allSatisfy({ $0 == 0 }) { return }
                    guard inflateReset(&stream) == Z_OK else { throw GzipError("zlib inflateReset failed") }
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw GzipError("gzip data is truncated (the stream ends before its end marker)")
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    throw GzipError("gzip data is corrupt: \(message)")
                }
            }
        }
        return output
    }

    static func decompress(contentsOf url: URL) throws -> Data {
        try decompress(Data(contentsOf: url))
    }
}
