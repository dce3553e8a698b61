/// The few Python `str` operations the CLIP text clean-up relies on, over Unicode scalars
/// (a Python `str` is a sequence of code points, so these never work on grapheme clusters).
enum PythonString {
    /// `str.isspace()` for one code point: general category Zs or bidirectional class WS, B or S
    /// (CPython's `_PyUnicode_IsWhitespace`; the set has been stable across Unicode versions).
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `" ".join(s.split())`: runs of whitespace become one space, leading and trailing runs go.
    /// (This is `whitespace_clean`; its trailing `.strip()` is then a no-op.)
    static func collapseWhitespace(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var pendingSpace = false
        for c in s {
            if isSpace(c) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" "); pendingSpace = false }
                out.append(c)
            }
        }
        return out
    }

    /// `str.strip()` without arguments.
    static func strip(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard let first = s.firstIndex(where: { !isSpace($0) }), let last = s.lastIndex(where: { !isSpace($0) }) else {
            return []
        }
        return Array(s[first...last])
    }

    /// `str.lower()`: each code point's full lowercase mapping (SpecialCasing's unconditional
    /// mappings included, so "İ" becomes "i̇"), and U+03A3 Σ becomes final ς when it ends a word,
    /// by CPython's Final_Sigma rule `\p{cased}\p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased})`.
    ///
    /// Code points assigned after Unicode 14.0 (the Unicode data of Python 3.11, the reference) are
    /// unassigned to Python, so they keep their case and are neither cased nor case-ignorable.
    static func lower(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for (i, c) in s.enumerated() {
            if c.isASCII {
                out.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(c.value + 32)! : c)
            } else if c.value == 0x3A3 {
                out.append(isFinalSigma(s, at: i) ? "\u{3C2}" : "\u{3C3}")
            } else if isKnownToReference(c) {
                out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(c)
            }
        }
        return out
    }

    private static func isFinalSigma(_ s: [Unicode.Scalar], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0 && isCaseIgnorable(s[j]) { j -= 1 }
        guard j >= 0 && isCased(s[j]) else { return false }
        j = i + 1
        while j < s.count && isCaseIgnorable(s[j]) { j += 1 }
        return j == s.count || !isCased(s[j])
    }

    private static func isCased(_ c: Unicode.Scalar) -> Bool { c.properties.isCased && isKnownToReference(c) }
    private static func isCaseIgnorable(_ c: Unicode.Scalar) -> Bool { c.properties.isCaseIgnorable && isKnownToReference(c) }

    /// Whether the code point is assigned in Unicode 14.0 (Python 3.11's `unicodedata.unidata_version`).
    static func isKnownToReference(_ c: Unicode.Scalar) -> Bool {
        guard let age = c.properties.age else { return false }
        return age.major < 14 || (age.major == 14 && age.minor == 0)
    }
}
