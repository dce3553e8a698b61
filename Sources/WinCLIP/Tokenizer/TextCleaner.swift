import Foundation

/// open_clip's text clean-up for `clean='lower'`: `whitespace_clean(basic_clean(text)).lower()` with
///
///     basic_clean(text)      = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
///     whitespace_clean(text) = " ".join(text.split()).strip()
///
/// `ftfy.fix_text` (ftfy 6.3.1, default `TextFixerConfig`) is reproduced step by step, in ftfy's
/// order and with its fixed-point loop, per line segment, EXCEPT for:
///
/// - `fix_encoding` (mojibake repair: re-decoding text that looks like UTF-8 read as Latin-1,
///   Windows-125x, MacRoman or cp437, with its sub-steps `restore_byte_a0`,
///   `replace_lossy_sequences` and `decode_inconsistent_utf8`). It only acts on text that ftfy's
///   "badness" heuristic flags as mojibake (e.g. "cafÃ©" -> "café"); ordinary text, ASCII or
///   correctly encoded Unicode, is left alone by it, so this port leaves such text alone too and
///   mojibake stays as it is. Where ftfy would first decode C1 controls (U+0080...U+009F) as part of
///   mojibake, this port only applies `fix_c1_controls` (their Windows-1252 reading).
/// - `fix_surrogates`: a Swift `String` cannot hold unpaired UTF-16 surrogates, so there is nothing
///   to fix.
/// - `max_decode_length` (segments longer than 1,000,000 code points are split by ftfy; they are
///   not split here, which only matters to the skipped mojibake repair).
///
/// Reproduced: `unescape_html` ("auto": disabled from the first line segment containing '<' on),
/// `fix_c1_controls`, `fix_latin_ligatures`, `fix_character_width`, `uncurl_quotes`,
/// `fix_line_breaks`, `remove_terminal_escapes`, `remove_control_chars`, NFC normalisation.
///
/// Unicode data: NFC comes from Foundation (checked equal to Python 3.11's `unicodedata` for every
/// code point, alone and as its NFD); lower-casing uses the Swift runtime's case mappings restricted
/// to code points of Unicode 14.0, Python 3.11's version (see `PythonString.lower`).
struct TextCleaner: Sendable {
    let htmlUnescape: HTMLUnescape
    let characterWidths: CharacterWidthTable

    init(tables: TokenizerTables) {
        htmlUnescape = HTMLUnescape(entities: tables.htmlEntities)
        characterWidths = tables.characterWidths
    }

    /// The full open_clip `clean='lower'` pipeline.
    func clean(_ text: String) -> [Unicode.Scalar] {
        var s = fixText(Array(text.unicodeScalars))
        s = htmlUnescape.unescape(htmlUnescape.unescape(s))
        s = PythonString.strip(s)
        s = PythonString.collapseWhitespace(s)
        return PythonString.lower(s)
    }

    // MARK: - ftfy.fix_text

    /// `ftfy.fix_text(text)` minus the parts listed in the type's documentation.
    func fixText(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var unescapeHTML = true  // "auto"; once a segment holds '<' it stays off for the rest
        var start = 0
        while start < text.count {
            var end = start
            while end < text.count && text[end] != "\n" { end += 1 }
            if end < text.count { end += 1 }  // the segment keeps its '\n'
            let segment = Array(text[start..<end])
            if unescapeHTML && segment.contains("<") { unescapeHTML = false }
            out.append(contentsOf: fixSegment(segment, unescapeHTML: unescapeHTML))
            start = end
        }
        return out
    }

    /// `ftfy.fix_and_explain`: apply the fixers until the text no longer changes.
    func fixSegment(_ segment: [Unicode.Scalar], unescapeHTML: Bool) -> [Unicode.Scalar] {
        var text = segment
        while true {
            let original = text
            if unescapeHTML { text = htmlUnescape.ftfyUnescape(text) }
            // fix_encoding: not reproduced (see the type's documentation).
            text = Self.fixC1Controls(text)
            text = Self.fixLatinLigatures(text)
            text = fixCharacterWidth(text)
            text = Self.uncurlQuotes(text)
            text = Self.fixLineBreaks(text)
            // fix_surrogates: nothing to do on Swift strings.
            text = Self.removeTerminalEscapes(text)
            text = Self.removeControlChars(text)
            text = Self.nfc(text)
            if text == original { return text }
        }
    }

    /// Windows-1252 reading of the C1 controls U+0080...U+009F ("sloppy": the five bytes Windows-1252
    /// leaves undefined map to themselves).
    private static let windows1252C1: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ]

    static func fixC1Controls(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        s.map { (0x80...0x9F).contains($0.value) ? Unicode.Scalar(windows1252C1[Int($0.value - 0x80)])! : $0 }
    }

    /// ftfy's `LIGATURES` table.
    private static let ligatures: [UInt32: String] = [
        0x0132: "IJ", 0x0133: "ij", 0x0149: "\u{2BC}n", 0x01F1: "DZ", 0x01F2: "Dz", 0x01F3: "dz",
        0x01C4: "D\u{17D}", 0x01C5: "D\u{17E}", 0x01C6: "d\u{17E}", 0x01C7: "LJ", 0x01C8: "Lj", 0x01C9: "lj",
        0x01CA: "NJ", 0x01CB: "Nj", 0x01CC: "nj", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi",
        0xFB04: "ffl", 0xFB05: "\u{17F}t", 0xFB06: "st",
    ]

    static func fixLatinLigatures(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains(where: { ligatures[$0.value] != nil }) else { return s }
        var out: [Unicode.Scalar] = []
        for c in s {
            if let r = ligatures[c.value] { out.append(contentsOf: r.unicodeScalars) } else { out.append(c) }
        }
        return out
    }

    func fixCharacterWidth(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains(where: { $0.value == 0x3000 || $0.value >= 0xFF01 }) else { return s }
        var out: [Unicode.Scalar] = []
        for c in s {
            if let r = characterWidths.map[c.value] { out.append(contentsOf: r) } else { out.append(c) }
        }
        return out
    }

    /// U+02BC and U+2018...U+201B become ', U+201C...U+201F become ".
    static func uncurlQuotes(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        s.map { c in
            switch c.value {
            case 0x02BC, 0x2018...0x201B: return "'"
            case 0x201C...0x201F: return "\""
            default: return c
            }
        }
    }

    /// CRLF, CR, U+2028, U+2029 and U+0085 become '\n'.
    static func fixLineBreaks(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for (i, c) in s.enumerated() {
            switch c.value {
            case 0x0D:
                if i + 1 < s.count && s[i + 1] == "\n" { continue }
                out.append("\n")
            case 0x2028, 0x2029, 0x85:
                out.append("\n")
            default:
                out.append(c)
            }
        }
        return out
    }

    /// Removes `\x1b\[((?:\d|;)*)([a-zA-Z])` (Python's `\d`: any Unicode decimal digit).
    static func removeTerminalEscapes(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("\u{1B}") else { return s }
        var out: [Unicode.Scalar] = []
        var i = 0
        while i < s.count {
            if s[i] == "\u{1B}" && i + 1 < s.count && s[i + 1] == "[" {
                var j = i + 2
                while j < s.count && (s[j] == ";" || s[j].properties.generalCategory == .decimalNumber) { j += 1 }
                if j < s.count && isASCIILetter(s[j]) { i = j + 1; continue }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    private static func isASCIILetter(_ c: Unicode.Scalar) -> Bool {
        (0x41...0x5A).contains(c.value) || (0x61...0x7A).contains(c.value)
    }

    /// ftfy's `CONTROL_CHARS`: U+0000...U+0008, U+000B, U+000E...U+001F, U+007F, U+206A...U+206F,
    /// U+FEFF and U+FFF9...U+FFFC are deleted.
    static func removeControlChars(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        s.filter { c in
            switch c.value {
            case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return false
            default: return true
            }
        }
    }

    /// Unicode canonical composition (NFC).
    static func nfc(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        // Fast path: ASCII is always NFC.
        if s.allSatisfy(\.isASCII) { return s }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: s)
        return Array(String(view).precomposedStringWithCanonicalMapping.unicodeScalars)
    }
}
