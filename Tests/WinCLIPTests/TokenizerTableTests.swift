import Foundation
import XCTest
@testable import WinCLIP

/// The generated tokenizer tables (Resources/*.txt, written by Tools/reference/tokenizer_tables.py):
/// what the bundled copies hold, and the typed error each kind of damage gives.
final class TokenizerTableTests: XCTestCase {
    // MARK: - The bundled tables

    func testBundledEntities() throws {
        let entities = try TokenizerTables.bundled().htmlEntities
        XCTAssertEqual(entities.html5.count, 2231)
        XCTAssertEqual(entities.html5["amp"], ["&"])
        XCTAssertEqual(entities.html5["amp;"], ["&"])
        XCTAssertEqual(entities.html5["CounterClockwiseContourIntegral;"], ["\u{2233}"])
        XCTAssertEqual(entities.html5["NotEqualTilde;"], ["\u{2242}", "\u{338}"])
        XCTAssertNil(entities.html5["EACUTE;"])
        // ftfy: html5's ';'-terminated names plus the 1,376 upper-cased additions.
        let terminated = entities.html5.keys.filter { $0.hasSuffix(";") }.count
        XCTAssertEqual(entities.ftfy.count, terminated + 1376)
        XCTAssertEqual(entities.ftfy["EACUTE;"], ["\u{C9}"])
        XCTAssertEqual(entities.ftfy["eacute;"], ["\u{E9}"])
        XCTAssertNil(entities.ftfy["eacute"])
    }

    func testBundledCharacterWidths() throws {
        let widths = try TokenizerTables.bundled().characterWidths
        XCTAssertEqual(widths.map.count, 226)
        XCTAssertEqual(widths.map[0x3000], [" "])
        XCTAssertEqual(widths.map[0xFF21], ["A"])
        XCTAssertEqual(widths.map[0xFFE0], ["\u{A2}"])
        XCTAssertNil(widths.map[0x41])
    }

    func testBundledUnicodeClasses() throws {
        let classes = try TokenizerTables.bundled().unicodeClasses
        XCTAssertEqual(classes.characterClass(of: "\u{E9}"), .letter)
        XCTAssertEqual(classes.characterClass(of: "\u{660}"), .number)  // ARABIC-INDIC DIGIT ZERO
        XCTAssertEqual(classes.characterClass(of: "\u{345}"), .none)  // case-folds to a letter: matches nothing
        XCTAssertEqual(classes.characterClass(of: "\u{3000}"), .none)  // whitespace
        XCTAssertEqual(classes.characterClass(of: "\u{2603}"), .other)  // SNOWMAN
        XCTAssertEqual(classes.characterClass(of: "\u{10FFFF}"), .other)
        XCTAssertEqual(classes.characterClass(of: "\u{3D000}"), .letter)  // the last run, from the regex module's tables
    }

    /// A copy of the four files read from a folder gives the same tokens as the bundled tables.
    func testTablesReadFromAFolderTokenizeAsTheBundledOnes() throws {
        let dir = try copyOfBundledTables()
        let fromFolder = try SimpleTokenizer(vocabURL: nil, tables: TokenizerTables(directory: dir))
        let bundled = try SimpleTokenizer()
        let text = "Ｆｕｌｌ&EACUTE; caf&eacute; &amp;amp \u{660}\u{661} ΟΔΥΣΣΕΥΣ snow\u{2603}man \u{345}x"
        XCTAssertEqual(fromFolder.tokenize(text), bundled.tokenize(text))
        XCTAssertNotEqual(fromFolder.tokenize(text), fromFolder.tokenize("full"))
    }

    // MARK: - Damaged files: each refused with its defect, naming the file

    func testTruncatedFileIsRefused() throws {
        let dir = try copyOfBundledTables()
        let url = dir.appendingPathComponent(TokenizerTableFile.unicodeClasses.fileName)
        var lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast(2)  // the final newline's empty string and the last run
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TokenizerTables(directory: dir)) { error in
            XCTAssertEqual(error as? TokenizerError, .corruptTable(path: url.path, defect: .countMismatch(declared: 853, found: 852)))
        }
    }

    func testMissingFileIsRefused() throws {
        let dir = try copyOfBundledTables()
        let url = dir.appendingPathComponent(TokenizerTableFile.ftfyEntities.fileName)
        try FileManager.default.removeItem(at: url)
        XCTAssertThrowsError(try TokenizerTables(directory: dir)) { error in
            guard case let TokenizerError.unreadableTable(path, _)? = error as? TokenizerError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(path, url.path)
        }
        XCTAssertThrowsError(try TokenizerTables { $0 == .characterWidths ? nil : $0.bundledURL }) { error in
            XCTAssertEqual(error as? TokenizerError, .bundledTableMissing(file: "character_widths.txt"))
        }
    }

    func testFileInAnotherTablesPlaceIsRefused() throws {
        let dir = try copyOfBundledTables()
        let widths = dir.appendingPathComponent(TokenizerTableFile.characterWidths.fileName)
        let classes = dir.appendingPathComponent(TokenizerTableFile.unicodeClasses.fileName)
        try FileManager.default.removeItem(at: classes)
        try FileManager.default.copyItem(at: widths, to: classes)
        XCTAssertThrowsError(try TokenizerTables(directory: dir)) { error in
            XCTAssertEqual(
                error as? TokenizerError,
                .corruptTable(path: classes.path, defect: .wrongKind(expected: "unicode-classes", found: "character-widths")))
        }
    }

    func testNonUTF8FileIsRefused() throws {
        let dir = try copyOfBundledTables()
        let url = dir.appendingPathComponent(TokenizerTableFile.html5Entities.fileName)
        try Data([0x74, 0x61, 0x62, 0x6C, 0x65, 0x20, 0xFF, 0xFE, 0x0A]).write(to: url)
        XCTAssertThrowsError(try TokenizerTables(directory: dir)) { error in
            XCTAssertEqual(error as? TokenizerError, .corruptTable(path: url.path, defect: .notUTF8))
        }
    }

    func testHeaderIsChecked() {
        XCTAssertEqual(defect { _ = try TokenizerTableLines("", file: .html5Entities) }, .missingHeader)
        XCTAssertEqual(defect { _ = try TokenizerTableLines("AElig C6\n", file: .html5Entities) }, .missingHeader)
        XCTAssertEqual(defect { _ = try TokenizerTableLines("table html5-entities two\n", file: .html5Entities) }, .missingHeader)
        XCTAssertEqual(
            defect { _ = try TokenizerTableLines("table ftfy-entities 0\n", file: .html5Entities) },
            .wrongKind(expected: "html5-entities", found: "ftfy-entities"))
        XCTAssertEqual(
            defect { _ = try TokenizerTableLines("table character-widths 2\n# a comment\n3000 20\n", file: .characterWidths) },
            .countMismatch(declared: 2, found: 1))
        XCTAssertNil(defect { _ = try TokenizerTableLines("table character-widths 0\n# only comments\n\n", file: .characterWidths) })
    }

    func testMalformedEntityLinesAreRefused() {
        func entities(_ body: String) -> TokenizerTableDefect? {
            defect { _ = try HTMLEntityTable.entities(TokenizerTableLines(body, file: .html5Entities)) }
        }
        XCTAssertNil(entities("table html5-entities 2\namp 26\nNotEqualTilde; 2242,338\n"))
        XCTAssertEqual(entities("table html5-entities 1\n# c\namp 26 27\n"), .malformedLine(line: 3, text: "amp 26 27"))
        XCTAssertEqual(entities("table html5-entities 1\namp 2g\n"), .malformedLine(line: 2, text: "amp 2g"))
        XCTAssertEqual(entities("table html5-entities 1\namp 2f\n"), .malformedLine(line: 2, text: "amp 2f"))  // upper-case hex only
        XCTAssertEqual(entities("table html5-entities 1\namp +26\n"), .malformedLine(line: 2, text: "amp +26"))
        XCTAssertEqual(entities("table html5-entities 1\namp 26,\n"), .malformedLine(line: 2, text: "amp 26,"))
        XCTAssertEqual(entities("table html5-entities 1\namp D800\n"), .malformedLine(line: 2, text: "amp D800"))  // a surrogate
        XCTAssertEqual(entities("table html5-entities 1\namp 110000\n"), .malformedLine(line: 2, text: "amp 110000"))
        XCTAssertEqual(entities("table html5-entities 1\nam\u{E9} 26\n"), .malformedLine(line: 2, text: "am\u{E9} 26"))
        XCTAssertEqual(entities("table html5-entities 1\namp  26\n"), .malformedLine(line: 2, text: "amp  26"))
        XCTAssertEqual(entities("table html5-entities 1\n 26\n"), .malformedLine(line: 2, text: " 26"))
        XCTAssertEqual(entities("table html5-entities 2\namp 26\namp 27\n"), .duplicateKey(line: 3, key: "amp"))
    }

    func testMalformedWidthLinesAreRefused() {
        func widths(_ body: String) -> TokenizerTableDefect? {
            defect { _ = try CharacterWidthTable(TokenizerTableLines(body, file: .characterWidths)) }
        }
        XCTAssertNil(widths("table character-widths 1\nFF21 41\n"))
        XCTAssertEqual(widths("table character-widths 1\nFF21\n"), .malformedLine(line: 2, text: "FF21"))
        XCTAssertEqual(widths("table character-widths 2\nFF21 41\nFF21 42\n"), .duplicateKey(line: 3, key: "FF21"))
    }

    func testMalformedOrUnsortedRunsAreRefused() {
        func classes(_ body: String) -> TokenizerTableDefect? {
            defect { _ = try UnicodeClassTable(TokenizerTableLines(body, file: .unicodeClasses)) }
        }
        XCTAssertNil(classes("table unicode-classes 2\n41 5A letter\n660 669 number\n"))
        XCTAssertEqual(classes("table unicode-classes 1\n41 5A symbol\n"), .malformedLine(line: 2, text: "41 5A symbol"))
        XCTAssertEqual(classes("table unicode-classes 1\n41 letter\n"), .malformedLine(line: 2, text: "41 letter"))
        XCTAssertEqual(classes("table unicode-classes 1\n5A 41 letter\n"), .runOutOfOrder(line: 2))
        XCTAssertEqual(classes("table unicode-classes 2\n41 5A letter\n5A 60 none\n"), .runOutOfOrder(line: 3))
        XCTAssertEqual(classes("table unicode-classes 2\n660 669 number\n41 5A letter\n"), .runOutOfOrder(line: 3))
    }

    func testErrorsSayWhichFileAndWhy() {
        let error = TokenizerError.corruptTable(path: "/x/unicode_classes.txt", defect: .runOutOfOrder(line: 7))
        XCTAssertEqual(
            error.description,
            "the tokenizer table /x/unicode_classes.txt is corrupt: line 7 is a run that is empty or not after the previous one")
    }

    // MARK: - Helpers

    /// The defect `body` throws, nil when it throws nothing (any other error fails the test).
    private func defect(_ body: () throws -> Void, line: UInt = #line) -> TokenizerTableDefect? {
        do {
            try body()
            return nil
        } catch let defect as TokenizerTableDefect {
            return defect
        } catch {
            XCTFail("unexpected error \(error)", line: line)
            return nil
        }
    }

    /// A temporary folder holding copies of the four bundled table files, removed after the test.
    private func copyOfBundledTables() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winclip-tokenizer-tables-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for file in TokenizerTableFile.allCases {
            let source = try XCTUnwrap(file.bundledURL, "\(file.fileName) is not in the WinCLIP bundle")
            try FileManager.default.copyItem(at: source, to: dir.appendingPathComponent(file.fileName))
        }
        return dir
    }
}
