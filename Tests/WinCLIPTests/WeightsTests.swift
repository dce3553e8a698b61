import Foundation
import XCTest
@testable import WinCLIP

final class WeightsTests: XCTestCase {
    func tempFile(_ bytes: Data) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("winclip-test-\(UUID().uuidString).safetensors").path
        try bytes.write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// A safetensors file built by hand: header JSON + raw bytes.
    func safetensors(_ entries: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])]) -> Data {
        var header: [String: Any] = [:]
        var body: [UInt8] = []
        for e in entries {
            header[e.name] = ["dtype": e.dtype, "shape": e.shape, "data_offsets": [body.count, body.count + e.bytes.count]]
            body += e.bytes
        }
        let json = try! JSONSerialization.data(withJSONObject: header)
        var data = Data()
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(contentsOf: body)
        return data
    }

    func testDecodesF32F16BF16() throws {
        // 1.5, -2, 65504 (max half), 2^-24 (smallest subnormal half)
        let f16: [UInt8] = [0x00, 0x3e, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00]
        let bf16: [UInt8] = [0xc0, 0x3f, 0x00, 0xc0]  // 1.5, -2
        var f32: [UInt8] = []
        for v: Float in [0.25, -3.5] { withUnsafeBytes(of: v.bitPattern.littleEndian) { f32 += $0 } }
        let file = try SafeTensorsFile(path: try tempFile(safetensors([
            ("h", "F16", [4], f16), ("b", "BF16", [2], bf16), ("f", "F32", [2], f32),
        ])))
        XCTAssertEqual(try file.floats("h"), [1.5, -2, 65504, Float(sign: .plus, exponent: -24, significand: 1)])
        XCTAssertEqual(try file.floats("b"), [1.5, -2])
        XCTAssertEqual(try file.floats("f"), [0.25, -3.5])
    }

    func testTruncatedAndCorruptFilesAreErrors() throws {
        let good = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("tiny-vit-48.safetensors")))
        for cut in [0, 5, 8, 100, good.count / 2, good.count - 1] {
            let path = try tempFile(good.prefix(cut))
            XCTAssertThrowsError(try SafeTensorsFile(path: path), "cut at \(cut)") { error in
                XCTAssert("\(error)".contains(path), "the error names the file: \(error)")
            }
        }
        var garbage = good
        garbage.replaceSubrange(8..<40, with: Data(repeating: 0x7b, count: 32))
        XCTAssertThrowsError(try SafeTensorsFile(path: try tempFile(garbage)))
        XCTAssertThrowsError(try SafeTensorsFile(path: "/nonexistent/weights.safetensors"))
        // Offsets past the data, and a byte count that disagrees with the shape.
        XCTAssertThrowsError(try SafeTensorsFile(data: safetensors([("x", "F32", [4], [0, 0, 0, 0])])))
        XCTAssertThrowsError(try SafeTensorsFile(data: safetensors([("x", "I8", [1], [0])])))
    }

    func testMissingAndMisShapedTensorsAreNamed() throws {
        let small = try ModelConfig.load(Fixtures.path("tiny-vit-48.json"))
        let other = try ModelConfig.load(Fixtures.path("tiny-vit-56-quickgelu.json"))
        // Weights of one model under the other's config: the first mismatch is named with both shapes.
        XCTAssertThrowsError(try CLIPWeights(path: Fixtures.path("tiny-vit-48.safetensors"), config: other)) { error in
            let text = "\(error)"
            XCTAssert(text.contains("visual.conv1.weight") && text.contains("[64, 3, 8, 8]") && text.contains("[48, 3, 8, 8]"), text)
        }
        let file = try SafeTensorsFile(data: safetensors([("visual.class_embedding", "F32", [1], [0, 0, 0, 0])]))
        XCTAssertThrowsError(try CLIPWeights(file: file, config: small)) { error in
            XCTAssert("\(error)".contains("missing tensor 'visual.conv1.weight'"), "\(error)")
        }
    }

    func testF16CheckpointLoads() throws {
        let config = try ModelConfig.load(Fixtures.path("tiny-vit-56-quickgelu.json"))
        let file = try Fixtures.open("tiny-vit-56-quickgelu.safetensors")
        XCTAssertEqual(file.tensors["visual.proj"]?.dtype, .f16)
        XCTAssertNoThrow(try CLIPWeights(file: file, config: config))
    }
}
