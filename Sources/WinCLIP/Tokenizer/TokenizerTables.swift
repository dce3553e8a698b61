import Foundation

/// The generated data of the text clean-up and the pre-tokenisation, kept as text resources
/// beside the BPE vocabulary (`Tools/reference/tokenizer_tables.py` writes them from the reference
/// Python) and read once per process.
struct TokenizerTables: Sendable {
    let htmlEntities: HTMLEntityTable
    let characterWidths: CharacterWidthTable
    let unicodeClasses: UnicodeClassTable

    /// Reads and checks the four files; `url` says where each is (nil: not there).
    init(url: (TokenizerTableFile) -> URL?) throws(TokenizerError) {
        func parse<T>(_ file: TokenizerTableFile, _ build: (TokenizerTableLines) throws(TokenizerTableDefect) -> T) throws(TokenizerError) -> T {
            guard let location = url(file) else { throw .bundledTableMissing(file: file.fileName) }
            let data: Data
            do {
                data = try Data(contentsOf: location)
            } catch {
                throw .unreadableTable(path: location.path, reason: error.localizedDescription)
            }
            do throws(TokenizerTableDefect) {
                guard let text = String(data: data, encoding: .utf8) else { throw .notUTF8 }
                return try build(TokenizerTableLines(text, file: file))
            } catch {
                throw .corruptTable(path: location.path, defect: error)
            }
        }
        htmlEntities = HTMLEntityTable(
            html5: try parse(.html5Entities, HTMLEntityTable.entities),
            ftfyUpperCase: try parse(.ftfyEntities, HTMLEntityTable.entities))
        characterWidths = try parse(.characterWidths, CharacterWidthTable.init)
        unicodeClasses = try parse(.unicodeClasses, UnicodeClassTable.init)
    }

    /// The four files in `directory`.
    init(directory: URL) throws(TokenizerError) {
        try self.init { directory.appendingPathComponent($0.fileName) }
    }

    /// The copies in the module's resource bundle, read on first use and kept for the process.
    static func bundled() throws(TokenizerError) -> TokenizerTables { try bundledResult.get() }

    private static let bundledResult = Result { () throws(TokenizerError) -> TokenizerTables in
        try TokenizerTables(url: \.bundledURL)
    }
}

extension TokenizerTableFile {
    /// The copy in the module's resource bundle (found as the BPE vocabulary is: `Bundle.module`).
    var bundledURL: URL? { Bundle.module.url(forResource: resourceName, withExtension: "txt") }
}
