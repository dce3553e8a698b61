/// open_clip's `bytes_to_unicode()`: a reversible map from the 256 byte values to printable
/// Unicode characters, so that BPE works on strings without whitespace or control characters.
/// The printable Latin-1 bytes ('!'...'~', '¡'...'¬', '®'...'ÿ') map to themselves; the other 68
/// bytes, in increasing order, map to U+0100, U+0101, ...
enum ByteEncoder {
    /// Byte values in the order of `bytes_to_unicode()`'s dictionary (which is also the order of
    /// the first 256 vocabulary entries).
    static let byteOrder: [UInt8] = {
        var bs = Array(UInt8(ascii: "!")...UInt8(ascii: "~")) + Array(UInt8(0xA1)...UInt8(0xAC)) + Array(UInt8(0xAE)...UInt8(0xFF))
        let printable = Set(bs)
        for b in 0...255 where !printable.contains(UInt8(b)) { bs.append(UInt8(b)) }
        return bs
    }()

    /// `bytes_to_unicode()[b]` for every byte `b`.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var n: UInt32 = 0
        for b in byteOrder {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[Int(b)] = Unicode.Scalar(b)
            } else {
                table[Int(b)] = Unicode.Scalar(256 + n)!
                n += 1
            }
        }
        return table
    }()

    /// The inverse map (`byte_decoder`).
    static let byteForScalar: [UInt32: UInt8] = {
        var table: [UInt32: UInt8] = [:]
        for b in 0..<256 { table[scalarForByte[b].value] = UInt8(b) }
        return table
    }()
}
