/// The split of cleaned text into words before BPE: `re.findall` with open_clip's pattern (module
/// `regex`, flag IGNORECASE)
///
///     <start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
///
/// scanned by hand over Unicode scalars. Alternatives are tried in that order at each position;
/// positions where none matches (whitespace) are skipped. IGNORECASE matters in two places:
/// - literal letters also match their simple case variants, which for these letters are the ASCII
///   upper-case forms and, for 's', U+017F LATIN SMALL LETTER LONG S;
/// - U+0345 COMBINING GREEK YPOGEGRAMMENI (category Mn) case-folds to a letter (ι), so under
///   IGNORECASE it is neither in `[\p{L}]` nor in `[^\s\p{L}\p{N}]`: it matches nothing and is
///   dropped like whitespace (the only such code point in the `regex` module's tables).
/// `\s` is the `regex` module's Unicode White_Space, i.e. Python's `str.isspace()` minus U+001C...U+001F.
/// The classes of non-ASCII code points come from `UnicodeClassTable`, a resource generated from the
/// reference's `regex` module, so they follow its Unicode version rather than the Swift runtime's.
struct PreTokenizer: Sendable {
    let unicodeClasses: UnicodeClassTable

    static let startOfText: [Unicode.Scalar] = Array("<start_of_text>".unicodeScalars)
    static let endOfText: [Unicode.Scalar] = Array("<end_of_text>".unicodeScalars)
    private static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }

    /// Word boundaries as index ranges into `text`.
    func split(_ text: [Unicode.Scalar]) -> [Range<Int>] {
        var words: [Range<Int>] = []
        let n = text.count
        var i = 0
        scan: while i < n {
            let c = text[i]
            if c == "<" {
                for special in [Self.startOfText, Self.endOfText] where Self.matchesIgnoringCase(special, in: text, at: i) {
                    words.append(i..<(i + special.count)); i += special.count
                    continue scan
                }
            }
            if c == "'" {
                for literal in Self.contractions where Self.matchesIgnoringCase(literal, in: text, at: i) {
                    words.append(i..<(i + literal.count)); i += literal.count
                    continue scan
                }
            }
            switch characterClass(c) {
            case .letter:
                var j = i + 1
                while j < n && characterClass(text[j]) == .letter { j += 1 }
                words.append(i..<j); i = j
            case .number:
                words.append(i..<(i + 1)); i += 1
            case .other:
                var j = i + 1
                while j < n && characterClass(text[j]) == .other { j += 1 }
                words.append(i..<j); i = j
            case .none:
                i += 1
            }
        }
        return words
    }

    enum CharacterClass { case letter, number, other, none }

    func characterClass(_ c: Unicode.Scalar) -> CharacterClass {
        if c.isASCII {
            switch c.value {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .none
            default: return .other
            }
        }
        return unicodeClasses.characterClass(of: c)
    }

    /// Whether `literal` (lower-case ASCII) occurs at `text[i...]`, letters compared case-insensitively.
    private static func matchesIgnoringCase(_ literal: [Unicode.Scalar], in text: [Unicode.Scalar], at i: Int) -> Bool {
        guard i + literal.count <= text.count else { return false }
        for (k, l) in literal.enumerated() {
            let c = text[i + k]
            if c == l { continue }
            if l.value >= 0x61 && l.value <= 0x7A {
                if c.value == l.value - 32 { continue }
                if l == "s" && c.value == 0x17F { continue }
            }
            return false
        }
        return true
    }
}
