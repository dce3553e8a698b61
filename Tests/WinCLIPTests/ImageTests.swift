import Foundation
import XCTest
import WinCLIP
import ImageInput

/// Image input against Pillow + torchvision references written by Tools/reference/images.py:
/// decoded pixels vs `Image.open(p).convert("RGB")`, and CLIPPreprocess vs the torchvision v2
/// pipeline (ToImage, ToDtype(float32, scale=True), Resize((S, S), BICUBIC, antialias=True),
/// Normalize(CLIP mean, std)).
final class ImageTests: XCTestCase {
    /// Pillow bundles its own libjpeg-turbo (3.2 in Pillow 13) while the system has Debian's 2.1.5.
    /// Measured difference on the fixtures: 0 levels; one level is allowed for other builds.
    static let jpegPixelTolerance: Float = 1
    static let tensorTolerance: Float = 1e-5

    static func reference() throws -> (SafeTensorsFile, [String]) { try Fixtures.fileList("images.safetensors") }

    static func imagePath(_ name: String) -> String {
        Fixtures.directory.appendingPathComponent("images").appendingPathComponent(name).path
    }

    static func stem(_ name: String) -> String { (name as NSString).deletingPathExtension }

    // MARK: - decoding

    func testDecodedPixelsMatchPillow() throws {
        let (ref, files) = try Self.reference()
        var maxDiff: [String: Float] = ["png": 0, "jpg": 0]
        for name in files {
            let stem = Self.stem(name)
            let ext = (name as NSString).pathExtension
            let image = try ImageLoader.load(path: Self.imagePath(name))
            XCTAssertEqual(ref.shape("\(stem).rgb"), [image.height, image.width, 3], name)
            let expected = try ref.floats("\(stem).rgb")
            guard expected.count == image.pixels.count else { continue }
            var diff: Float = 0
            var differing = 0
            for i in 0..<expected.count {
                let d = abs(Float(image.pixels[i]) - expected[i])
                if d > 0 { differing += 1 }
                diff = max(diff, d)
            }
            maxDiff[ext] = max(maxDiff[ext] ?? 0, diff)
            if ext == "png" {
                XCTAssertEqual(diff, 0, "\(name): \(differing) bytes differ from Pillow, max \(diff)")
            } else {
                XCTAssertLessThanOrEqual(diff, Self.jpegPixelTolerance, "\(name): max difference \(diff) from Pillow")
                if diff > 0 { print("\(name): \(differing) of \(expected.count) bytes differ from Pillow by at most \(diff)") }
            }
        }
        print("max pixel difference vs Pillow: PNG \(maxDiff["png"]!), JPEG \(maxDiff["jpg"]!)")
    }

    // MARK: - preprocessing

    func testPreprocessMatchesTorchvision() throws {
        let (ref, files) = try Self.reference()
        for size in [48, 64] {
            let preprocess = CLIPPreprocess(imageSize: size)
            var worst: Float = 0
            var exact = 0, total = 0
            for name in files {
                let stem = Self.stem(name)
                let shape = try XCTUnwrap(ref.shape("\(stem).rgb"))
                // The reference pixels, so that JPEG decoder rounding does not enter this test.
                let pixels = try ref.floats("\(stem).rgb").map { UInt8($0) }
                let image = RGBImage(width: shape[1], height: shape[0], pixels: pixels)
                let got = preprocess(image)
                let expected = try ref.floats("\(stem).s\(size)")
                XCTAssertEqual(ref.shape("\(stem).s\(size)"), [3, size, size])
                XCTAssertEqual(got.count, expected.count, name)
                guard got.count == expected.count else { continue }
                var diff: Float = 0
                for i in 0..<got.count {
                    diff = max(diff, abs(got[i] - expected[i]))
                    if got[i] == expected[i] { exact += 1 }
                }
                total += got.count
                worst = max(worst, diff)
                XCTAssertLessThanOrEqual(diff, Self.tensorTolerance, "\(name) at \(size): max difference \(diff)")
            }
            print("preprocess \(size): max |difference| \(worst), \(exact) of \(total) values bit-identical")
        }
    }

    /// The whole path from file to tensor; PNG exactly as the reference, JPEG within its pixel rounding.
    func testLoadAndPreprocessEndToEnd() throws {
        let (ref, files) = try Self.reference()
        let preprocess = CLIPPreprocess(imageSize: 64)
        var worstJPEG: Float = 0
        for name in files {
            let got = preprocess(try ImageLoader.load(path: Self.imagePath(name)))
            let expected = try ref.floats("\(Self.stem(name)).s64")
            var diff: Float = 0
            for i in 0..<min(got.count, expected.count) { diff = max(diff, abs(got[i] - expected[i])) }
            if name.hasSuffix(".png") {
                XCTAssertLessThanOrEqual(diff, Self.tensorTolerance, name)
            } else {
                worstJPEG = max(worstJPEG, diff)
                // One level of 1/255 divided by the smallest std, at most.
                XCTAssertLessThanOrEqual(diff, Self.jpegPixelTolerance / 255 / 0.26 + Self.tensorTolerance, name)
            }
        }
        print("end to end (S=64), JPEG files: max |difference| \(worstJPEG)")
    }

    func testResizeIdentityAndConstant() {
        // Equal sizes copy; a constant image stays constant (weights are normalised).
        let input = (0..<(3 * 5 * 7)).map { Float($0) / 100 }
        XCTAssertEqual(BicubicResize.resize(input, channels: 3, height: 5, width: 7, outHeight: 5, outWidth: 7), input)
        let flat = [Float](repeating: 0.25, count: 3 * 40 * 30)
        for (h, w) in [(7, 9), (64, 64), (100, 3)] {
            let out = BicubicResize.resize(flat, channels: 3, height: 40, width: 30, outHeight: h, outWidth: w)
            XCTAssertEqual(out.count, 3 * h * w)
            for v in out { XCTAssertEqual(v, 0.25, accuracy: 1e-6) }
        }
    }

    // MARK: - bad input

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("winclip-image-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = scratch.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    private func fixtureBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.imagePath(name))))
    }

    @discardableResult
    private func assertFails(_ bytes: [UInt8], _ name: String, reason: ImageError.Reason? = nil,
                             maxPixels: Int = ImageLoader.defaultMaxPixels,
                             file: StaticString = #filePath, line: UInt = #line) throws -> ImageError? {
        let path = try write(bytes, name)
        do {
            let image = try ImageLoader.load(path: path, maxPixels: maxPixels)
            XCTFail("\(name): loaded a \(image.width)x\(image.height) image instead of failing", file: file, line: line)
            return nil
        } catch let error as ImageError {
            XCTAssertEqual(error.path, path, file: file, line: line)
            XCTAssertTrue(error.description.contains(path), "message should name the file: \(error)", file: file, line: line)
            if let reason { XCTAssertEqual(error.reason, reason, "\(error)", file: file, line: line) }
            return error
        }
    }

    func testEmptyFile() throws {
        try assertFails([], "empty.png", reason: .empty)
    }

    func testMissingFile() throws {
        XCTAssertThrowsError(try ImageLoader.load(path: scratch.appendingPathComponent("nope.png").path)) { error in
            XCTAssertEqual((error as? ImageError)?.reason, .unreadable)
        }
        XCTAssertThrowsError(try ImageLoader.load(path: scratch.path)) { error in  // a directory
            XCTAssertNotNil(error as? ImageError)
        }
    }

    func testUnknownAndUnsupportedFormats() throws {
        try assertFails(Array("hello, this is not an image".utf8), "text.png", reason: .unknownFormat)
        try assertFails(Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 20), "a.gif", reason: .unsupported)
        // "BM" reaches the BMP decoder, which refuses a bitmap header of size 0.
        try assertFails(Array("BM".utf8) + [UInt8](repeating: 0, count: 60), "a.bmp", reason: .unsupported)
        try assertFails([0x89, 0x50, 0x4E], "sig.png", reason: .corrupt)
    }

    func testRandomBytes() throws {
        var rng = ImageTestRandom(seed: 7)
        for i in 0..<20 {
            var bytes = (0..<(1 + i * 97)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            try assertFails(bytes, "random\(i).bin")
            // Random bytes behind a valid signature reach the decoders.
            bytes = PNGDecoder.signature + bytes
            try assertFails(bytes, "random\(i).png", reason: .corrupt)
            try assertFails([0xFF, 0xD8, 0xFF] + bytes, "random\(i).jpg")
        }
    }

    func testTruncatedFiles() throws {
        for name in ["rgb8.png", "rgb8_interlaced.png", "grey1.png", "rgba16.png", "palette8.png"] {
            let bytes = try fixtureBytes(name)
            // Cut inside the header, inside IHDR, and at several points of the image data.
            for cut in [9, 20, 40, bytes.count / 4, bytes.count / 2, bytes.count - 40] where cut < bytes.count - 12 {
                try assertFails(Array(bytes.prefix(cut)), "cut\(cut)-\(name)", reason: .corrupt)
            }
        }
        for name in ["jpeg_rgb420.jpg", "jpeg_progressive.jpg", "jpeg_grey.jpg"] {
            let bytes = try fixtureBytes(name)
            // Like Pillow, even a file missing only its EOI marker is refused.
            for cut in [4, 30, bytes.count / 3, bytes.count / 2, bytes.count - 100, bytes.count - 2] {
                try assertFails(Array(bytes.prefix(cut)), "cut\(cut)-\(name)", reason: .corrupt)
            }
        }
    }

    func testTrailingDataIsIgnored() throws {
        for name in ["rgb8.png", "jpeg_rgb420.jpg"] {
            let bytes = try fixtureBytes(name)
            let path = try write(bytes + Array("trailing garbage".utf8), "trailing-\(name)")
            XCTAssertEqual(try ImageLoader.load(path: path), try ImageLoader.load(path: Self.imagePath(name)))
        }
    }

    func testCorruptPNGChunks() throws {
        let bytes = try fixtureBytes("rgb8.png")
        let chunks = pngChunks(bytes)
        let idat = try XCTUnwrap(chunks.first { $0.type == "IDAT" })
        // A flipped bit in the image data: the CRC no longer matches.
        var flipped = bytes
        flipped[idat.dataStart + 100] ^= 0x10
        try assertFails(flipped, "idat-crc.png", reason: .corrupt)
        // Garbage image data with a correct CRC: zlib fails.
        var garbage = bytes
        for i in 0..<min(200, idat.length) { garbage[idat.dataStart + i] = UInt8(truncatingIfNeeded: i &* 37 &+ 11) }
        fixCRC(&garbage, chunk: idat)
        try assertFails(garbage, "idat-zlib.png", reason: .corrupt)
        // A bad CRC on IHDR.
        var header = bytes
        header[8 + 8 + 12] ^= 0xFF  // the IHDR CRC's first byte
        try assertFails(header, "ihdr-crc.png", reason: .corrupt)
        // An invalid IHDR (bit depth 3) with a correct CRC.
        var depth = bytes
        depth[8 + 8 + 8] = 3
        fixCRC(&depth, chunk: chunks[0])
        try assertFails(depth, "ihdr-depth.png", reason: .corrupt)
        // No IDAT at all.
        let noData = Array(bytes[0..<chunks[0].end]) + pngChunk("IEND", [])
        try assertFails(noData, "no-idat.png", reason: .corrupt)
    }

    func testDecompressionBombHeadersAreRefusedBeforeDecoding() throws {
        // A 50000x50000 RGB PNG header with correct CRCs and a few bytes of data.
        var ihdr = [UInt8]()
        ihdr += bigEndian(50_000) + bigEndian(50_000) + [8, 2, 0, 0, 0]
        let bomb = PNGDecoder.signature + pngChunk("IHDR", ihdr) + pngChunk("IDAT", [0x78, 0x9C, 0x03, 0x00]) + pngChunk("IEND", [])
        let error = try assertFails(bomb, "bomb.png", reason: .tooLarge)
        XCTAssertTrue(error?.detail.contains("50000x50000") ?? false, "\(String(describing: error))")

        // A JPEG whose frame header claims 65000x65000.
        var jpeg = try fixtureBytes("jpeg_rgb420.jpg")
        let sof = try XCTUnwrap((0..<(jpeg.count - 9)).first { jpeg[$0] == 0xFF && (jpeg[$0 + 1] == 0xC0 || jpeg[$0 + 1] == 0xC2) })
        jpeg[sof + 5] = 0xFD; jpeg[sof + 6] = 0xE8  // height 65000
        jpeg[sof + 7] = 0xFD; jpeg[sof + 8] = 0xE8  // width 65000
        try assertFails(jpeg, "bomb.jpg", reason: .tooLarge)

        // The limit is a parameter: a real 300x200 image over a 50000-pixel limit.
        try assertFails(try fixtureBytes("rgb8.png"), "limit.png", reason: .tooLarge, maxPixels: 50_000)
        try assertFails(try fixtureBytes("jpeg_rgb420.jpg"), "limit.jpg", reason: .tooLarge, maxPixels: 59_999)
        XCTAssertNoThrow(try ImageLoader.load(path: Self.imagePath("rgb8.png"), maxPixels: 60_000))
    }

    func testCMYKJPEGIsRejected() throws {
        // A real CMYK JPEG from Pillow, kept beside the fixtures but outside their file list.
        let error = try assertFails(try fixtureBytes("unsupported_cmyk.jpg"), "cmyk.jpg", reason: .unsupported)
        XCTAssertTrue(error?.detail.contains("CMYK") ?? false, "\(String(describing: error))")
    }

    /// Random corruption of valid files must end in an image or an ImageError, never a crash.
    func testMutatedFilesNeverCrash() throws {
        var rng = ImageTestRandom(seed: 42)
        for name in ["rgb8_interlaced.png", "palette4.png", "rgba16.png", "jpeg_progressive.jpg", "jpeg_rgb422_odd.jpg"] {
            let original = try fixtureBytes(name)
            for round in 0..<60 {
                var bytes = original
                let edits = 1 + Int(rng.next() % 8)
                for _ in 0..<edits {
                    let at = Int(rng.next() % UInt64(bytes.count))
                    bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                }
                if round % 5 == 0 { bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count)))) }
                let path = try write(bytes, "mut-\(round)-\(name)")
                do {
                    let image = try ImageLoader.load(path: path)
                    XCTAssertEqual(image.pixels.count, image.width * image.height * 3)
                } catch is ImageError {
                    // expected for most mutations
                }
            }
        }
    }

    // MARK: - helpers

    private struct Chunk { let type: String; let start: Int; let length: Int; var dataStart: Int { start + 8 }; var end: Int { start + 12 + length } }

    private func pngChunks(_ bytes: [UInt8]) -> [Chunk] {
        var chunks: [Chunk] = []
        var at = 8
        while at + 12 <= bytes.count {
            let length = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            chunks.append(Chunk(type: type, start: at, length: length))
            at += 12 + length
        }
        return chunks
    }

    private func fixCRC(_ bytes: inout [UInt8], chunk: Chunk) {
        let crc = crc32(Array(bytes[(chunk.start + 4)..<(chunk.dataStart + chunk.length)]))
        bytes.replaceSubrange((chunk.dataStart + chunk.length)..<(chunk.end), with: bigEndian(crc))
    }

    private func pngChunk(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + payload
        return bigEndian(UInt32(payload.count)) + body + bigEndian(crc32(body))
    }

    private func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }
}

/// Small deterministic generator for the corruption tests.
private struct ImageTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
