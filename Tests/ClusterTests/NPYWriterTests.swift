import Foundation
import XCTest
@testable import Outputs

final class NPYWriterTests: XCTestCase {
    static let values: [Float] = [0, 0.5, -1.25, 1e-3, 3.4028235e38, -0.0]

    /// `numpy.save` of `np.array([[0, 0.5, -1.25], [1e-3, 3.4028235e38, -0.0]], dtype='<f4')`
    /// (numpy 2.4).
    static let numpyBytes = hexBytes(
        "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c"
        + "20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020202020202020202020202020"
        + "2020202020202020202020202020202020202020202020202020200a000000000000003f0000a0bf6f12833affff7f7f0000"
        + "0080")

    func testBytesEqualNumpySave() {
        XCTAssertEqual(Array(NPYWriter.encode(Self.values, shape: [2, 3])), Self.numpyBytes)
    }

    /// Header lengths numpy writes (growth space and 64-byte alignment, a full 64 when aligned).
    func testHeaderLayoutLikeNumpy() {
        func text(_ shape: [Int]) -> String {
            let data = NPYWriter.header(shape: shape)
            return String(decoding: data.dropFirst(10), as: UTF8.self)
        }
        XCTAssertEqual(NPYWriter.header(shape: [240, 240]).count, 128)
        XCTAssertEqual(text([240, 240]), "{'descr': '<f4', 'fortran_order': False, 'shape': (240, 240), }"
                       + String(repeating: " ", count: 54) + "\n")
        XCTAssertEqual(text([5]), "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"
                       + String(repeating: " ", count: 60) + "\n")
        XCTAssertEqual(text([]), "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"
                       + String(repeating: " ", count: 62) + "\n")
        XCTAssertEqual(NPYWriter.header(shape: [1234567, 89]).count, 128)
        XCTAssertEqual(NPYWriter.header(shape: Array(1...17)).count, 192)
        XCTAssertEqual(NPYWriter.header(shape: [Int](repeating: 1, count: 36)).count, 256)
        let header = NPYWriter.header(shape: [2, 3])
        XCTAssertEqual(Int(header[8]) | Int(header[9]) << 8, header.count - 10)
    }

    func testWriteCreatesFoldersAndNumpyLoadsIt() throws {
        let root = try temporaryOutputFolder(self)
        let url = root.appendingPathComponent("maps/test/crack/000.npy")
        let map = (0..<12).map { Float($0) / 11 }
        try NPYWriter.write(map, shape: [3, 4], to: url)
        XCTAssertEqual(try Data(contentsOf: url), NPYWriter.encode(map, shape: [3, 4]))

        // Read back with numpy when a Python with numpy is around (not required).
        let script = """
        import sys, numpy as np
        a = np.load(sys.argv[1])
        assert a.dtype == np.dtype('<f4') and a.shape == (3, 4), (a.dtype, a.shape)
        assert (a.ravel() == (np.arange(12, dtype=np.float32) / np.float32(11))).all(), a
        print('ok')
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        do { try process.run() } catch { throw XCTSkip("no python3: \(error)") }
        process.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if process.terminationStatus != 0, !out.contains("ok") {
            let check = Process()
            check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            check.arguments = ["python3", "-c", "import numpy"]
            check.standardError = Pipe()
            try check.run()
            check.waitUntilExit()
            if check.terminationStatus != 0 { throw XCTSkip("python3 has no numpy") }
        }
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }
}
