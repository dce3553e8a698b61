/// ftfy's `WIDTH_MAP` (fullwidth / halfwidth form -> standard-width replacement), read from the
/// generated `character_widths.txt` (see `TokenizerTables`).
struct CharacterWidthTable: Sendable {
    let map: [UInt32: [Unicode.Scalar]]

    /// Lines `codepoint replacement[,replacement]`.
    init(_ lines: TokenizerTableLines) throws(TokenizerTableDefect) {
        var map: [UInt32: [Unicode.Scalar]] = [:]
        map.reserveCapacity(lines.entries.count)
        for entry in lines.entries {
            guard entry.fields.count == 2 else { throw entry.malformed }
            let key = try entry.codePoint(0)
            guard map[key] == nil else { throw .duplicateKey(line: entry.line, key: String(entry.fields[0])) }
            map[key] = try entry.scalars(1)
        }
        self.map = map
    }
}
