import Foundation
import XCTest
@testable import WinCLIP

final class TokenizerTests: XCTestCase {
    private static let tokenizerResult = Result { try SimpleTokenizer() }

    private func tokenizer() throws -> SimpleTokenizer { try Self.tokenizerResult.get() }

    private func fixturesURL() throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil), "the test bundle has no Fixtures folder")
    }

    /// Every row of Tests/Fixtures/tokens.safetensors (written by Tools/reference/tokens.py from
    /// open_clip's tokenizer) equals `tokenize(text)`.
    func testMatchesOpenCLIPReference() throws {
        let tokenizer = try tokenizer()
        let file = try SafeTensorsFile(path: try fixturesURL().appendingPathComponent("tokens.safetensors").path)
        let textsJSON = try XCTUnwrap(file.metadata["texts"], "tokens.safetensors has no 'texts' metadata")
        let texts = try JSONDecoder().decode([String].self, from: Data(textsJSON.utf8))
        XCTAssertEqual(file.shape("ids"), [texts.count, 77])
        let ids = try file.ints("ids")
        XCTAssertEqual(ids.count, texts.count * 77)
        XCTAssertGreaterThanOrEqual(texts.count, 3 * 231 + 25)

        var mismatches = 0
        for (row, text) in texts.enumerated() {
            let expected = Array(ids[(row * 77)..<((row + 1) * 77)])
            let actual = tokenizer.tokenize(text)
            if actual != expected {
                mismatches += 1
                XCTFail("row \(row) \(text.debugDescription):\n expected \(expected.prefix { $0 != 0 })\n   actual \(actual.prefix { $0 != 0 })")
            }
        }
        XCTAssertEqual(mismatches, 0, "\(mismatches) of \(texts.count) texts differ from open_clip")
        print("TokenizerTests: \(texts.count - mismatches) of \(texts.count) fixture texts equal open_clip's ids")
    }

    func testPromptExample() throws {
        let tokenizer = try tokenizer()
        XCTAssertEqual(tokenizer.encode("a photo of a metal nut."), [320, 1125, 539, 320, 4044, 6491, 269])
        let row = tokenizer.tokenize("a photo of a metal nut.")
        XCTAssertEqual(row.count, 77)
        XCTAssertEqual(Array(row.prefix(9)), [49406, 320, 1125, 539, 320, 4044, 6491, 269, 49407])
        XCTAssertTrue(row.dropFirst(9).allSatisfy { $0 == 0 })
        XCTAssertEqual(tokenizer.tokenize(""), [49406, 49407] + [Int](repeating: 0, count: 75))
    }

    func testTruncationKeepsEndToken() throws {
        let tokenizer = try tokenizer()
        let text = String(repeating: "photo ", count: 200)
        XCTAssertEqual(tokenizer.encode(text).count, 200)
        let row = tokenizer.tokenize(text)
        XCTAssertEqual(row.count, 77)
        XCTAssertEqual(row.first, SimpleTokenizer.startToken)
        XCTAssertEqual(row.last, SimpleTokenizer.endToken)
        XCTAssertEqual(Set(row[1..<76]), [1125])

        // Exactly fitting (75 words + start + end) is not truncated; one more word is.
        XCTAssertEqual(tokenizer.tokenize(String(repeating: "a ", count: 75)), [49406] + [Int](repeating: 320, count: 75) + [49407])
        XCTAssertEqual(tokenizer.tokenize(String(repeating: "a ", count: 76)), [49406] + [Int](repeating: 320, count: 75) + [49407])

        // Other context lengths, down to 1 (open_clip's `tokens[:1]` then `tokens[-1] = eot`).
        XCTAssertEqual(tokenizer.tokenize("a photo", contextLength: 3), [49406, 320, 49407])
        XCTAssertEqual(tokenizer.tokenize("a photo", contextLength: 1), [49407])
        XCTAssertEqual(tokenizer.tokenize("a photo", contextLength: 6), [49406, 320, 1125, 49407, 0, 0])
    }

    func testDecodeRoundTrip() throws {
        let tokenizer = try tokenizer()
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("A Photo of the Metal Nut!")), "a photo of the metal nut ! ")
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("café 🙂")), "café 🙂 ")
    }

    func testConcurrentUse() throws {
        let tokenizer = try tokenizer()
        let expected = tokenizer.tokenize("a close-up photo of a damaged transistor.")
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            XCTAssertEqual(tokenizer.tokenize("a close-up photo of a damaged transistor."), expected)
        }
    }

    // MARK: - Vocabulary errors

    private func temporaryFile(_ name: String, contents: Data) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winclip-tokenizer-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(name)
        try contents.write(to: url)
        return url
    }

    func testMissingVocabularyThrows() {
        let url = URL(fileURLWithPath: "/nonexistent/winclip/bpe_simple_vocab_16e6.txt.gz")
        XCTAssertThrowsError(try SimpleTokenizer(vocabURL: url)) { error in
            guard case TokenizerError.unreadableVocabulary(let path, _) = error else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(path, url.path)
        }
    }

    func testNonGzipVocabularyThrows() throws {
        let url = try temporaryFile("vocab.txt.gz", contents: Data("#version: 0.2\ni n\nt h\n".utf8))
        XCTAssertThrowsError(try SimpleTokenizer(vocabURL: url)) { error in
            guard case TokenizerError.corruptVocabulary = error else { return XCTFail("unexpected error \(error)") }
            XCTAssertTrue("\(error)".contains("gzip"), "\(error)")
        }
    }

    func testTruncatedGzipVocabularyThrows() throws {
        let bundled = try XCTUnwrap(SimpleTokenizer.bundledVocabularyURL)
        let data = try Data(contentsOf: bundled)
        let url = try temporaryFile("truncated.txt.gz", contents: data.prefix(data.count / 2))
        XCTAssertThrowsError(try SimpleTokenizer(vocabURL: url)) { error in
            guard case TokenizerError.corruptVocabulary = error else { return XCTFail("unexpected error \(error)") }
        }
    }

    func testCorruptedGzipVocabularyThrows() throws {
        let bundled = try XCTUnwrap(SimpleTokenizer.bundledVocabularyURL)
        var data = try Data(contentsOf: bundled)
        for i in stride(from: 1000, to: 1100, by: 1) { data[i] ^= 0x5A }
        let url = try temporaryFile("corrupted.txt.gz", contents: data)
        XCTAssertThrowsError(try SimpleTokenizer(vocabURL: url)) { error in
            guard case TokenizerError.corruptVocabulary = error else { return XCTFail("unexpected error \(error)") }
        }
    }

    func testTooShortVocabularyThrows() throws {
        // A valid gzip file holding "#version: 0.2\ni n\nt h\n": too few merges.
        let gz = Data([
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x53, 0x2e, 0x4b, 0x2d, 0x2a, 0xce,
            0xcc, 0xcf, 0xb3, 0x52, 0x30, 0xd0, 0x33, 0xe2, 0xca, 0x54, 0xc8, 0xe3, 0x2a, 0x51, 0xc8, 0xe0,
            0x02, 0x00, 0xfe, 0x49, 0x53, 0xfc, 0x16, 0x00, 0x00, 0x00,
        ])
        let url = try temporaryFile("short.txt.gz", contents: gz)
        XCTAssertThrowsError(try SimpleTokenizer(vocabURL: url)) { error in
            guard case TokenizerError.corruptVocabulary(_, let reason) = error else { return XCTFail("unexpected error \(error)") }
            XCTAssertTrue(reason.contains("merges"), reason)
        }
    }

    func testGzipRoundTripOfBundledVocabulary() throws {
        let bundled = try XCTUnwrap(SimpleTokenizer.bundledVocabularyURL)
        let text = try Gzip.decompress(contentsOf: bundled)
        XCTAssertEqual(text.count, 3_194_984)
        XCTAssertTrue(String(decoding: text.prefix(40), as: UTF8.self).contains("#version: 0.2"))
    }
}
