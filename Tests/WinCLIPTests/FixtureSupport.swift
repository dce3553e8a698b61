import Foundation
import XCTest
@testable import WinCLIP

/// Where the committed parity fixtures live (Tests/Fixtures, copied into the test bundle).
enum Fixtures {
    static let directory: URL = {
        if let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) { return url }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    }()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func open(_ name: String) throws -> SafeTensorsFile { try SafeTensorsFile(path: path(name)) }

    /// A Pillow reference file and the image files it covers (its `files` metadata).
    static func fileList(_ name: String) throws -> (SafeTensorsFile, [String]) {
        let file = try open(name)
        guard let json = file.metadata["files"], let data = json.data(using: .utf8),
              let files = try JSONSerialization.jsonObject(with: data) as? [String], !files.isEmpty
        else { throw SafeTensorsError("\(name) has no 'files' metadata") }
        return (file, files)
    }

    /// One BLAS backend for the whole test run (one thread: tests run on a shared 2-core machine).
    static let backend: OpenBLASBackend = {
        do { return try OpenBLASBackend(threads: 1) } catch { fatalError("OpenBLAS: \(error)") }
    }()
}

/// Asserts |a - b| <= tolerance element-wise and returns the largest difference.
@discardableResult
func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float, _ label: String,
                 file: StaticString = #filePath, line: UInt = #line) -> Float {
    XCTAssertEqual(actual.count, expected.count, "\(label): element count", file: file, line: line)
    var worst: Float = 0
    var worstIndex = 0
    for i in 0..<min(actual.count, expected.count) {
        let d = abs(actual[i] - expected[i])
        if !(d <= worst) { worst = d; worstIndex = i }
    }
    XCTAssert(worst <= tolerance, "\(label): largest difference \(worst) at \(worstIndex) (got \(actual[worstIndex]), expected \(expected[worstIndex])) exceeds \(tolerance)", file: file, line: line)
    print("parity \(label): max |diff| = \(worst) over \(actual.count) values")
    return worst
}
