import Foundation
import XCTest
import WinCLIP
import ImageInput

/// BMP, TIFF and WebP decoding against Pillow (`Image.open(p).convert("RGB")`, fixtures written
/// by Tools/reference/formats.py), the 16-bit grey scale mode, and the loader's limits: file
/// size and non-regular files refused from `stat`, the pixel limit applied to every format.
final class FormatTests: XCTestCase {
    /// Pillow 13 bundles libwebp 1.6.0; Debian 12 has 1.2.4. Their lossy decoding (VP8 and the
    /// YUV-to-RGB conversion) measured identical on the fixtures (0 levels); one level is allowed
    /// for other libwebp builds, as for JPEG. The measured difference is printed.
    static let lossyWebPTolerance: Float = 1

    static func reference() throws -> (SafeTensorsFile, [String]) { try Fixtures.fileList("formats.safetensors") }

    static func path(_ name: String) -> String {
        Fixtures.directory.appendingPathComponent("formats").appendingPathComponent(name).path
    }

    static func stem(_ name: String) -> String { (name as NSString).deletingPathExtension }

    /// (largest difference, differing bytes) between decoded pixels and a reference tensor.
    static func compare(_ image: RGBImage, _ ref: SafeTensorsFile, _ key: String) throws -> (Float, Int) {
        guard ref.shape(key) == [image.height, image.width, 3] else {
            XCTFail("\(key): shape \(String(describing: ref.shape(key))) vs decoded \(image.height)x\(image.width)")
            return (.infinity, 0)
        }
        let expected = try ref.floats(key)
        var worst: Float = 0, differing = 0
        for i in 0..<expected.count {
            let d = abs(Float(image.pixels[i]) - expected[i])
            if d > 0 { differing += 1 }
            worst = max(worst, d)
        }
        return (worst, differing)
    }

    // MARK: - pixels

    func testDecodedPixelsMatchPillow() throws {
        let (ref, files) = try Self.reference()
        var perFormat: [String: (files: Int, worst: Float)] = [:]
        var lossy: [String] = []
        for name in files {
            let stem = Self.stem(name)
            let image: RGBImage
            do { image = try ImageLoader.load(path: Self.path(name)) } catch {
                XCTFail("\(name): \(error)")
                continue
            }
            let (worst, differing) = try Self.compare(image, ref, "\(stem).rgb")
            let format = (name as NSString).pathExtension + (name.hasPrefix("webp_lossy") ? " lossy" : "")
            perFormat[format, default: (0, 0)].files += 1
            perFormat[format]!.worst = max(perFormat[format]!.worst, worst)
            if name.hasPrefix("webp_lossy") {
                XCTAssertLessThanOrEqual(worst, Self.lossyWebPTolerance, "\(name): \(differing) bytes differ, max \(worst)")
                lossy.append("\(name): \(differing) of \(image.pixels.count) bytes differ, max \(worst)")
            } else {
                XCTAssertEqual(worst, 0, "\(name): \(differing) bytes differ from Pillow, max \(worst)")
            }
        }
        // TIFF files are read through their descriptor by `load`; from memory they decode the same.
        for name in files where name.hasSuffix(".tif") {
            let data = try Data(contentsOf: URL(fileURLWithPath: Self.path(name)))
            XCTAssertEqual(try ImageLoader.decode(data, path: name), try ImageLoader.load(path: Self.path(name)), name)
        }
        XCTAssertEqual(perFormat["bmp"]?.files ?? 0 > 10, true)
        XCTAssertEqual(perFormat["tif"]?.files ?? 0 > 20, true)
        for (format, stats) in perFormat.sorted(by: { $0.key < $1.key }) {
            print("pixels vs Pillow \(ref.metadata["pillow"] ?? "?"): \(format): \(stats.files) files, max difference \(stats.worst)")
        }
        for line in lossy { print("lossy WebP (Pillow's libwebp \(ref.metadata["libwebp"] ?? "?")): \(line)") }
    }

    func testSixteenBitScaleMode() throws {
        let (ref, files) = try Self.reference()
        let scale = ImageDecodeOptions(sixteenBit: .scale)
        var checked = 0
        for name in files where ref.shape("\(Self.stem(name)).scale") != nil {
            let image = try ImageLoader.load(path: Self.path(name), options: scale)
            let (worst, differing) = try Self.compare(image, ref, "\(Self.stem(name)).scale")
            XCTAssertEqual(worst, 0, "\(name) scaled: \(differing) bytes differ")
            // And the default is Pillow's clipping, which differs on these files.
            XCTAssertNotEqual(try ImageLoader.load(path: Self.path(name)), image, name)
            checked += 1
        }
        let png = ImageTests.imagePath("grey16.png")
        let (worst, _) = try Self.compare(try ImageLoader.load(path: png, options: scale), ref, "png_grey16.scale")
        XCTAssertEqual(worst, 0, "grey16.png scaled")
        XCTAssertGreaterThanOrEqual(checked, 3)
        // 16-bit RGB is unaffected (Pillow already keeps the high byte).
        let rgb16 = Self.path("tiff_rgb16_deflate.tif")
        XCTAssertEqual(try ImageLoader.load(path: rgb16, options: scale), try ImageLoader.load(path: rgb16))
        print("16-bit grey scale mode: \(checked) TIFF files and 1 PNG equal the high byte of Pillow's I;16 samples")
    }

    // MARK: - refusals

    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("winclip-format-tests-\(UUID().uuidString)")
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

    private func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.path(name)))) }

    @discardableResult
    private func assertFails(_ path: String, reason: ImageError.Reason?, options: ImageDecodeOptions = ImageDecodeOptions(),
                             file: StaticString = #filePath, line: UInt = #line) -> ImageError? {
        do {
            let image = try ImageLoader.load(path: path, options: options)
            XCTFail("\(path): loaded a \(image.width)x\(image.height) image instead of failing", file: file, line: line)
            return nil
        } catch let error as ImageError {
            XCTAssertEqual(error.path, path, file: file, line: line)
            if let reason { XCTAssertEqual(error.reason, reason, "\(error)", file: file, line: line) }
            return error
        } catch {
            XCTFail("\(path): not an ImageError: \(error)", file: file, line: line)
            return nil
        }
    }

    func testUnsupportedTIFFLayoutsAreRefused() throws {
        for (name, word) in [("unsupported_cmyk.tif", "CMYK"), ("unsupported_float32.tif", "sample format 3"),
                             ("unsupported_premultiplied.tif", "premultiplied")] {
            let error = assertFails(Self.path(name), reason: .unsupported)
            XCTAssertTrue(error?.detail.contains(word) ?? false, "\(String(describing: error))")
            print("refused: \(error.map { "\($0)" } ?? "-")")
        }
    }

    func testNonRegularFilesAreNeverOpened() throws {
        // A FIFO without a writer: opening it for reading would block forever.
        let fifo = scratch.appendingPathComponent("pipe.png").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let started = Date()
        let error = assertFails(fifo, reason: .notRegularFile)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertTrue(error?.detail.contains("FIFO") ?? false, "\(String(describing: error))")
        // No reader ever opened it: a non-blocking writer finds none (ENXIO).
        let writer = open(fifo, O_WRONLY | O_NONBLOCK)
        XCTAssertEqual(writer, -1)
        XCTAssertEqual(errno, ENXIO)
        print("refused: \(error.map { "\($0)" } ?? "-")")

        // A listening Unix socket.
        let socketPath = scratch.appendingPathComponent("s.jpg").path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let path = Array(socketPath.utf8)
            for (i, b) in path.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        let socketError = assertFails(socketPath, reason: .notRegularFile)
        XCTAssertTrue(socketError?.detail.contains("socket") ?? false)
        // A character device, a directory, and a symlink to the FIFO (stat follows it).
        let device = assertFails("/dev/zero", reason: .notRegularFile)
        XCTAssertTrue(device?.detail.contains("device") ?? false)
        assertFails(scratch.path, reason: .notRegularFile)
        let link = scratch.appendingPathComponent("link.png").path
        XCTAssertEqual(symlink(fifo, link), 0)
        assertFails(link, reason: .notRegularFile)
        print("refused: \(device.map { "\($0)" } ?? "-")")
    }

    func testFileSizeLimitIsCheckedBeforeReading() throws {
        let name = "bmp_rgb24.bmp"
        let size = try bytes(name).count
        let path = try write(try bytes(name), name)
        var options = ImageDecodeOptions()
        options.limits.maxFileBytes = size - 1
        let error = assertFails(path, reason: .fileTooLarge, options: options)
        XCTAssertTrue(error?.detail.contains("\(size) bytes") ?? false)
        options.limits.maxFileBytes = size
        XCTAssertNoThrow(try ImageLoader.load(path: path, options: options))
        // A 3 GB sparse file named .png is refused at once with the default limit.
        let big = scratch.appendingPathComponent("huge.png").path
        let fd = open(big, O_CREAT | O_WRONLY, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(ftruncate(fd, 3 << 30), 0)
        close(fd)
        let started = Date()
        let huge = assertFails(big, reason: .fileTooLarge)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
        XCTAssertEqual(ImageLimits().maxFileBytes, 256 << 20)
        print("refused: \(huge.map { "\($0)" } ?? "-")")
    }

    func testPixelLimitAppliesToEveryFormat() throws {
        for name in ["bmp_rgb24.bmp", "bmp_rle8.bmp", "tiff_rgb8_lzw.tif", "tiff_rgb8_tiled_lzw.tif", "webp_lossy.webp", "webp_lossless_alpha.webp", "webp_animated.webp"] {
            let image = try ImageLoader.load(path: Self.path(name))
            let pixels = image.width * image.height
            var options = ImageDecodeOptions()
            options.limits.maxPixels = pixels - 1
            let error = assertFails(Self.path(name), reason: .tooLarge, options: options)
            XCTAssertTrue(error?.detail.contains("\(image.width)x\(image.height)") ?? false, "\(String(describing: error))")
            options.limits.maxPixels = pixels
            XCTAssertNoThrow(try ImageLoader.load(path: Self.path(name), options: options))
        }
        // Small files whose headers claim huge images are refused before decoding.
        var bmp = try bytes("bmp_rgb24.bmp")
        bmp.replaceSubrange(18..<26, with: le32(60_000) + le32(60_000))
        let bmpError = assertFails(try write(bmp, "bomb.bmp"), reason: .tooLarge)
        var webp = try bytes("webp_lossy.webp")  // simple lossy: 14-bit sizes after the VP8 start code
        XCTAssertEqual(Array(webp[23..<26]), [0x9D, 0x01, 0x2A])
        webp.replaceSubrange(26..<30, with: [0xFF, 0x3F, 0xFF, 0x3F])  // 16383 x 16383
        let webpError = assertFails(try write(webp, "bomb.webp"), reason: .tooLarge)
        let tiffError = assertFails(try write(tinyTIFF(width: 60_000, height: 60_000), "bomb.tif"), reason: .tooLarge)
        XCTAssertNoThrow(try ImageLoader.load(path: try write(tinyTIFF(width: 3, height: 2), "tiny.tif")))
        for e in [bmpError, webpError, tiffError] { print("refused: \(e.map { "\($0)" } ?? "-")") }
    }

    // MARK: - corruption

    func testTruncatedFilesAreRefused() throws {
        let (_, files) = try Self.reference()
        var messages: Set<String> = []
        for name in files {
            let original = try bytes(name)
            for fraction in [0.1, 0.5, 0.9] {
                let cut = Int(Double(original.count) * fraction)
                let path = try write(Array(original.prefix(cut)), "cut\(cut)-\(name)")
                do {
                    let image = try ImageLoader.load(path: path)
                    // A TIFF cut after all its pixel data (tags at the end) may still be whole.
                    let whole = try ImageLoader.load(path: Self.path(name))
                    XCTAssertTrue(name.hasSuffix(".tif") && fraction == 0.9 && image == whole,
                                  "\(name) cut to \(cut) of \(original.count) bytes loaded")
                } catch let error as ImageError {
                    XCTAssertTrue([.corrupt, .unsupported].contains(error.reason), "\(name) cut at \(cut): \(error)")
                    if messages.count < 6, fraction == 0.5 { messages.insert("\(error.detail)") }
                }
            }
        }
        for m in messages.sorted() { print("truncated: \(m)") }
    }

    /// Random corruption must end in an image or an ImageError, never a crash or a hang.
    func testMutatedFilesNeverCrash() throws {
        var rng = FormatTestRandom(seed: 2024)
        let (_, files) = try Self.reference()
        let names = files.filter { $0.hasSuffix(".bmp") } + [
                     "tiff_rgb8_lzw.tif", "tiff_grey16_be_tiled.tif", "tiff_rgb8_planar_lzw.tif", "tiff_palette8_colormap16.tif",
                     "webp_lossy_alpha.webp", "webp_lossless.webp", "webp_animated.webp"]
        var outcomes = (images: 0, errors: 0)
        // A mutated size may be huge yet under the default limit; a small one keeps the test quick.
        let fuzzOptions = ImageDecodeOptions(limits: ImageLimits(maxPixels: 1 << 20))
        for name in names {
            let original = try bytes(name)
            for round in 0..<24 {
                var mutated = original
                for _ in 0..<(1 + Int(rng.next() % 6)) {
                    // Mostly the header and early data, where the structure is.
                    let span = round % 2 == 0 ? min(200, mutated.count) : mutated.count
                    mutated[Int(rng.next() % UInt64(span))] = UInt8(truncatingIfNeeded: rng.next())
                }
                if round % 4 == 3 { mutated = Array(mutated.prefix(Int(rng.next() % UInt64(mutated.count)))) }
                let path = try write(mutated, "mut\(round)-\(name)")
                do {
                    let image = try ImageLoader.load(path: path, options: fuzzOptions)
                    XCTAssertEqual(image.pixels.count, image.width * image.height * 3)
                    outcomes.images += 1
                } catch is ImageError {
                    outcomes.errors += 1
                }
                if name.hasSuffix(".tif") {  // the in-memory TIFF path (libtiff maps the bytes) too
                    if let image = try? ImageLoader.decode(Data(mutated), options: fuzzOptions) {
                        XCTAssertEqual(image.pixels.count, image.width * image.height * 3)
                    }
                }
            }
        }
        print("mutated files: \(outcomes.images) decoded, \(outcomes.errors) refused, no crash")
    }

    func testMalformedBMPHeaders() throws {
        let original = try bytes("bmp_p8.bmp")
        var header = original
        header.replaceSubrange(14..<18, with: le32(20))  // unknown header size
        XCTAssertTrue(assertFails(try write(header, "h20.bmp"), reason: .unsupported)?.detail.contains("header") ?? false)
        var depth = original
        depth[28] = 7  // 7 bits per pixel
        XCTAssertTrue(assertFails(try write(depth, "d7.bmp"), reason: .unsupported)?.detail.contains("depth") ?? false)
        var compression = original
        compression.replaceSubrange(30..<34, with: le32(4))  // embedded JPEG
        XCTAssertTrue(assertFails(try write(compression, "jpeg.bmp"), reason: .unsupported)?.detail.contains("JPEG") ?? false)
        var offset = original
        offset.replaceSubrange(10..<14, with: le32(0xFFFF_FFF0))  // pixel data far past the end
        assertFails(try write(offset, "offset.bmp"), reason: .corrupt)
        var colours = original
        colours.replaceSubrange(46..<50, with: le32(100_000))
        assertFails(try write(colours, "colours.bmp"), reason: .unsupported)
        assertFails(try write(Array(original.prefix(20)), "short.bmp"), reason: .corrupt)
        // Pillow fails on a 4-bit image with a 16-level grey-ramp palette (it reads bytes as mode L).
        assertFails(Self.path("unsupported_bmp_p4_grey_ramp.bmp"), reason: .unsupported)
        // An RLE8 stream that stops (end of bitmap) before every pixel is set: Pillow refuses it.
        var rle = try bytes("bmp_rle8.bmp")
        let dataStart = Int(rle[10]) | Int(rle[11]) << 8
        rle.replaceSubrange(dataStart..., with: [4, 1, 0, 1])
        let early = assertFails(try write(rle, "early.bmp"), reason: .corrupt)
        print("refused: \(early.map { "\($0)" } ?? "-")")
    }

    // MARK: - helpers

    private func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// A minimal little-endian uncompressed 8-bit grey TIFF (one strip) of the given header size.
    private func tinyTIFF(width: Int, height: Int) -> [UInt8] {
        let pixelCount = min(width * height, 64)
        func entry(_ tag: Int, _ type: Int, _ value: Int) -> [UInt8] {
            [UInt8(tag & 0xFF), UInt8(tag >> 8), UInt8(type), 0, 1, 0, 0, 0] + le32(value)
        }
        let tags = [
            entry(256, 4, width), entry(257, 4, height), entry(258, 3, 8), entry(259, 3, 1), entry(262, 3, 1),
            entry(273, 4, 8 + 2 + 9 * 12 + 4), entry(277, 3, 1), entry(278, 4, height), entry(279, 4, pixelCount),
        ]
        var file: [UInt8] = [0x49, 0x49, 0x2A, 0x00] + le32(8) + [UInt8(tags.count), 0]
        for t in tags { file += t }
        file += le32(0)
        file += (0..<pixelCount).map { UInt8($0 * 4) }
        return file
    }
}

/// Small deterministic generator for the corruption tests.
private struct FormatTestRandom {
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
