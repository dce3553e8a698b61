/// The classes of open_clip's pre-tokenisation pattern for every code point, from the reference's
/// `regex` module (whose Unicode version may be newer than the Swift runtime's), read from the
/// generated `unicode_classes.txt` (see `TokenizerTables`).
struct UnicodeClassTable: Sendable {
    /// Sorted, disjoint runs: `starts[k]...ends[k]` has class `classes[k]`.
    private let starts: [UInt32]
    private let ends: [UInt32]
    private let classes: [PreTokenizer.CharacterClass]

    /// Lines `start end class`, class being `letter` (`(?i)[\p{L}]`), `number` (`(?i)[\p{N}]`) or
    /// `none` (matched by no alternative: `\s`, U+0345). Code points outside every run are `other`.
    init(_ lines: TokenizerTableLines) throws(TokenizerTableDefect) {
        var starts: [UInt32] = [], ends: [UInt32] = [], classes: [PreTokenizer.CharacterClass] = []
        for entry in lines.entries {
            guard entry.fields.count == 3 else { throw entry.malformed }
            let start = try entry.codePoint(0), end = try entry.codePoint(1)
            let characterClass: PreTokenizer.CharacterClass
            switch entry.fields[2] {
            case "letter": characterClass = .letter
            case "number": characterClass = .number
            case "none": characterClass = .none
            default: throw entry.malformed
            }
            // The binary search in `characterClass(of:)` needs sorted, disjoint runs.
            guard start <= end, ends.last.map({ $0 < start }) ?? true else { throw .runOutOfOrder(line: entry.line) }
            starts.append(start)
            ends.append(end)
            classes.append(characterClass)
        }
        self.starts = starts
        self.ends = ends
        self.classes = classes
    }

    func characterClass(of c: Unicode.Scalar) -> PreTokenizer.CharacterClass {
        // Binary search of the last run starting at or before c.
        var lo = 0, hi = starts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if starts[mid] <= c.value { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0, c.value <= ends[lo - 1] else { return .other }
        return classes[lo - 1]
    }
}
