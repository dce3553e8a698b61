import Foundation
import XCTest
@testable import Hub

final class BlobDigestTests: XCTestCase {
    func file(_ bytes: Data) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("BlobDigestTests-\(UUID().uuidString)")
        try bytes.write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testSHA256Vectors() throws {
        // FIPS 180-2 vectors, and a file longer than one read chunk (8 MiB; its digest from hashlib).
        XCTAssertEqual(try BlobDigest.sha256(file: file(Data())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try BlobDigest.sha256(file: file(Data("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(try BlobDigest.sha256(file: file(Data(repeating: UInt8(ascii: "a"), count: 1_000_000))),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Bytes (31 i) mod 256 repeat every 256 bytes.
        let pattern = Data((0..<256).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        var big = Data(capacity: 9 << 20)
        for _ in 0..<((9 << 20) / 256) { big.append(pattern) }
        let expected = "f01417ffa8d2cc4380d36640b28b92cd6b617c445658166bbd5f90b25d00205e"
        XCTAssertEqual(try BlobDigest.sha256(file: file(big)), expected)
    }

    func testETagKinds() throws {
        let abc = try file(Data("abc".utf8))
        XCTAssertNil(try BlobDigest(etag: "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD").mismatch(file: abc))
        XCTAssertEqual(try BlobDigest(etag: String(repeating: "0", count: 64)).mismatch(file: abc),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // git's blob id of "hello\n" (git hash-object).
        let hello = try file(Data("hello\n".utf8))
        XCTAssertEqual(BlobDigest(etag: "ce013625030ba8dba906f756967f9e9ca394464a"), .gitBlobSHA1("ce013625030ba8dba906f756967f9e9ca394464a"))
        XCTAssertNil(try BlobDigest(etag: "ce013625030ba8dba906f756967f9e9ca394464a").mismatch(file: hello))
        XCTAssertNotNil(try BlobDigest(etag: "ce013625030ba8dba906f756967f9e9ca394464b").mismatch(file: hello))
        XCTAssertEqual(BlobDigest(etag: "xet-abc"), .unverifiable("xet-abc"))
    }
}
