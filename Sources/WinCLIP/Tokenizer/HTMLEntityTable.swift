/// The named character references the HTML unescaping knows, read from the generated
/// `html5_entities.txt` and `ftfy_entities.txt` (see `TokenizerTables`).
struct HTMLEntityTable: Sendable {
    /// Python's `html.entities.html5`: entity name (without '&', with or without the trailing ';'
    /// as listed there) -> replacement. Names are ASCII.
    let html5: [String: [Unicode.Scalar]]
    /// ftfy's `HTML_ENTITIES` keyed without '&': the ';'-terminated html5 names plus upper-cased
    /// forms such as `EACUTE;`.
    let ftfy: [String: [Unicode.Scalar]]

    /// `ftfyUpperCase`: the names ftfy decodes beyond html5's ';'-terminated ones.
    init(html5: [String: [Unicode.Scalar]], ftfyUpperCase: [String: [Unicode.Scalar]]) {
        var ftfy = ftfyUpperCase
        for (name, value) in html5 where name.hasSuffix(";") { ftfy[name] = value }
        self.html5 = html5
        self.ftfy = ftfy
    }

    /// Lines `name codepoint[,codepoint]`.
    static func entities(_ lines: TokenizerTableLines) throws(TokenizerTableDefect) -> [String: [Unicode.Scalar]] {
        var table: [String: [Unicode.Scalar]] = [:]
        table.reserveCapacity(lines.entries.count)
        for entry in lines.entries {
            // Names must be ASCII: `HTMLUnescape.replaceNamed` only looks up ASCII prefixes.
            guard entry.fields.count == 2, !entry.fields[0].isEmpty, entry.fields[0].unicodeScalars.allSatisfy(\.isASCII) else { throw entry.malformed }
            let name = String(entry.fields[0])
            guard table[name] == nil else { throw .duplicateKey(line: entry.line, key: name) }
            table[name] = try entry.scalars(1)
        }
        return table
    }
}
