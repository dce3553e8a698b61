// The format of the generated tokenizer table files: which files there are, how their lines read,
// and what can be wrong with them.

/// One of the generated table files the tokenizer reads at start (written into `Resources/` by
/// `Tools/reference/tokenizer_tables.py`).
enum TokenizerTableFile: CaseIterable, Sendable {
    case html5Entities, ftfyEntities, characterWidths, unicodeClasses

    /// Resource name without the `.txt` extension.
    var resourceName: String {
        switch self {
        case .html5Entities: return "html5_entities"
        case .ftfyEntities: return "ftfy_entities"
        case .characterWidths: return "character_widths"
        case .unicodeClasses: return "unicode_classes"
        }
    }

    var fileName: String { resourceName + ".txt" }

    /// The kind its first line declares (`table KIND COUNT`), so that a file put in another's place is refused.
    var kind: String {
        switch self {
        case .html5Entities: return "html5-entities"
        case .ftfyEntities: return "ftfy-entities"
        case .characterWidths: return "character-widths"
        case .unicodeClasses: return "unicode-classes"
        }
    }
}

/// What is wrong with a tokenizer table file. Line numbers count from 1, the header being line 1.
public enum TokenizerTableDefect: Error, Equatable, Sendable, CustomStringConvertible {
    case notUTF8
    /// The first line is not `table KIND COUNT`.
    case missingHeader
    /// The header names another table (e.g. one file copied over another).
    case wrongKind(expected: String, found: String)
    /// The header's COUNT differs from the number of data lines (e.g. a truncated file).
    case countMismatch(declared: Int, found: Int)
    /// Wrong number of fields, a field that is not upper-case hex of a code point, an unknown class.
    case malformedLine(line: Int, text: String)
    /// A key already given on an earlier line.
    case duplicateKey(line: Int, key: String)
    /// A code point run that is empty, or does not start after the previous run ends.
    case runOutOfOrder(line: Int)

    public var description: String {
        switch self {
        case .notUTF8: return "it is not UTF-8 text"
        case .missingHeader: return "its first line is not `table KIND COUNT`"
        case let .wrongKind(expected, found): return "it holds the table \(found), not \(expected)"
        case let .countMismatch(declared, found): return "its header declares \(declared) entries but \(found) follow"
        case let .malformedLine(line, text): return "line \(line) is malformed: \(text.debugDescription)"
        case let .duplicateKey(line, key): return "line \(line) repeats the key \(key)"
        case let .runOutOfOrder(line): return "line \(line) is a run that is empty or not after the previous one"
        }
    }
}

/// The data lines of one table file: its `table KIND COUNT` header checked, `#` comments and blank
/// lines dropped, each line split into its space-separated fields.
struct TokenizerTableLines {
    struct Entry {
        let line: Int
        let fields: [Substring]
        let text: Substring
    }

    let entries: [Entry]

    init(_ text: String, file: TokenizerTableFile) throws(TokenizerTableDefect) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let header = lines[0].split(separator: " ", omittingEmptySubsequences: false)
        guard header.count == 3, header[0] == "table", let declared = Int(header[2]), declared >= 0 else {
            throw .missingHeader
        }
        guard header[1] == file.kind else { throw .wrongKind(expected: file.kind, found: String(header[1])) }
        var entries: [Entry] = []
        entries.reserveCapacity(declared)
        for (index, line) in lines.enumerated().dropFirst() where !line.isEmpty && !line.hasPrefix("#") {
            entries.append(Entry(line: index + 1, fields: line.split(separator: " ", omittingEmptySubsequences: false), text: line))
        }
        guard entries.count == declared else { throw .countMismatch(declared: declared, found: entries.count) }
        self.entries = entries
    }
}

extension TokenizerTableLines.Entry {
    var malformed: TokenizerTableDefect { .malformedLine(line: line, text: String(text.prefix(80))) }

    /// Field `index` as a code point: 1 to 6 upper-case hex digits, at most 10FFFF.
    func codePoint(_ index: Int) throws(TokenizerTableDefect) -> UInt32 {
        let field = fields[index]
        guard (1...6).contains(field.count),
              field.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || ("A"..."F").contains($0) }),
              let value = UInt32(field, radix: 16), value <= 0x10FFFF else { throw malformed }
        return value
    }

    /// Field `index` as comma-separated code points, each a Unicode scalar (no surrogate).
    func scalars(_ index: Int) throws(TokenizerTableDefect) -> [Unicode.Scalar] {
        var scalars: [Unicode.Scalar] = []
        for part in fields[index].split(separator: ",", omittingEmptySubsequences: false) {
            let single = TokenizerTableLines.Entry(line: line, fields: [part], text: text)
            guard let scalar = Unicode.Scalar(try single.codePoint(0)) else { throw malformed }
            scalars.append(scalar)
        }
        return scalars
    }
}
