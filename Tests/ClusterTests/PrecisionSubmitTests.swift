import Foundation
import Options
import XCTest
import WinCLIP

/// `--precision bf16` through a whole submit: within 1e-3 (scores) and 5e-3 (maps) of fp32 on a
/// CPU with AVX512_BF16 or AMX; refused before any work, naming the missing feature, elsewhere.
final class PrecisionSubmitTests: XCTestCase {
    func testBF16SubmitOrItsRefusal() throws {
        let fp32 = try runTinySubmit(self) { $0.saveMaps = true }
        if let missing = Precision.bf16.missingFeature(on: .current) {
            XCTAssertThrowsError(try runTinySubmit(self) { $0.config.winclip.precision = .bf16 }) {
                XCTAssert("\($0)".contains("AVX512_BF16"), "\($0)")
            }
            throw XCTSkip("this CPU cannot run bf16 (\(missing)); the refusal was checked")
        }
        let bf16 = try runTinySubmit(self) { $0.saveMaps = true; $0.config.winclip.precision = .bf16 }
        let a = try readResults(fp32), b = try readResults(bf16)
        var worstScore: Float = 0, worstMap: Float = 0
        for (image, row) in a {
            guard let s = row.score else { continue }
            worstScore = max(worstScore, abs(s - (b[image]?.score ?? .infinity)))
            let ma = try readNPY(fp32.appendingPathComponent(row.map!)), mb = try readNPY(bf16.appendingPathComponent(b[image]!.map!))
            worstMap = max(worstMap, zip(ma, mb).map { abs($0 - $1) }.max()!)
        }
        print("bf16 vs fp32 through submit: scores \(worstScore), maps \(worstMap)")
        XCTAssertLessThan(worstScore, 1e-3)
        XCTAssertLessThan(worstMap, 5e-3)
        XCTAssertGreaterThan(worstScore + worstMap, 0, "bf16 ran (its results differ from fp32 somewhere)")
    }
}
