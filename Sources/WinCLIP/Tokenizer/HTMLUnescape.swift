/// Python's `html.unescape` (CPython 3.11 `Lib/html/__init__.py`) and ftfy's stricter
/// `unescape_html`, over Unicode scalars (Python `str` is a sequence of code points).
struct HTMLUnescape: Sendable {
    let entities: HTMLEntityTable
    /// Longest name the pattern takes (`{1,32}`; html5's longest is "CounterClockwiseContourIntegral;").
    private static let maxNameLength = 32

    /// `html._invalid_charrefs`: numeric references remapped as HTML5 specifies (Windows-1252 for 0x80...0x9F).
    private static let invalidCharrefs: [UInt32: UInt32] = [
        0x00: 0xFFFD, 0x0D: 0x0D, 0x80: 0x20AC, 0x81: 0x81, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E,
        0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021, 0x88: 0x02C6, 0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039,
        0x8C: 0x0152, 0x8D: 0x8D, 0x8E: 0x017D, 0x8F: 0x8F, 0x90: 0x90, 0x91: 0x2018, 0x92: 0x2019,
        0x93: 0x201C, 0x94: 0x201D, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC, 0x99: 0x2122,
        0x9A: 0x0161, 0x9B: 0x203A, 0x9C: 0x0153, 0x9D: 0x9D, 0x9E: 0x017E, 0x9F: 0x0178,
    ]

    /// `html._invalid_codepoints`: numeric references that decode to nothing.
    private static func isInvalidCodepoint(_ n: UInt32) -> Bool {
        (0x1...0x8).contains(n) || n == 0xB || (0xE...0x1F).contains(n) || (0x7F...0x9F).contains(n)
            || (0xFDD0...0xFDEF).contains(n) || (n & 0xFFFE == 0xFFFE && n <= 0x10FFFF)
    }

    private static func isASCIIDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }
    private static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c.value {
        case 0x30...0x39: return c.value - 0x30
        case 0x41...0x46: return c.value - 0x41 + 10
        case 0x61...0x66: return c.value - 0x61 + 10
        default: return nil
        }
    }

    /// Value of a run of digits, saturating above 0x10FFFF (Python's int is unbounded; every value past
    /// 0x10FFFF decodes the same way).
    private static func number(_ digits: ArraySlice<Unicode.Scalar>, radix: UInt32) -> UInt32 {
        var n: UInt32 = 0
        for c in digits {
            let d = radix == 16 ? Self.hexValue(c)! : c.value - 0x30
            n = min(n * radix + d, 0x11_0000)
        }
        return n
    }

    /// `html._replace_charref` for a numeric reference.
    private static func decodeNumeric(_ n: UInt32) -> [Unicode.Scalar] {
        if let mapped = invalidCharrefs[n] { return [Unicode.Scalar(mapped)!] }
        if (0xD800...0xDFFF).contains(n) || n > 0x10FFFF { return ["\u{FFFD}"] }
        if isInvalidCodepoint(n) { return [] }
        return [Unicode.Scalar(n)!]
    }

    /// Python's `html.unescape(s)`: the regex
    /// `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)` substituted left to right.
    func unescape(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("&") else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        let n = s.count
        var i = 0
        while i < n {
            let c = s[i]
            guard c == "&", i + 1 < n else { out.append(c); i += 1; continue }
            var j = i + 1
            if s[j] == "#" {
                // Decimal: #[0-9]+;?
                var k = j + 1
                while k < n && Self.isASCIIDigit(s[k]) { k += 1 }
                if k > j + 1 {
                    let value = Self.number(s[(j + 1)..<k], radix: 10)
                    if k < n && s[k] == ";" { k += 1 }
                    out.append(contentsOf: Self.decodeNumeric(value))
                    i = k
                    continue
                }
                // Hexadecimal: #[xX][0-9a-fA-F]+;?
                if j + 1 < n && (s[j + 1] == "x" || s[j + 1] == "X") {
                    k = j + 2
                    while k < n && Self.hexValue(s[k]) != nil { k += 1 }
                    if k > j + 2 {
                        let value = Self.number(s[(j + 2)..<k], radix: 16)
                        if k < n && s[k] == ";" { k += 1 }
                        out.append(contentsOf: Self.decodeNumeric(value))
                        i = k
                        continue
                    }
                }
                // '#' cannot start a named reference.
                out.append(c); i += 1
                continue
            }
            // Named: [^\t\n\f <&#;]{1,32};?
            while j < n && j - (i + 1) < Self.maxNameLength && !Self.isNameTerminator(s[j]) { j += 1 }
            guard j > i + 1 else { out.append(c); i += 1; continue }
            if j < n && s[j] == ";" { j += 1 }
            let name = Array(s[(i + 1)..<j])
            out.append(contentsOf: replaceNamed(name))
            i = j
        }
        return out
    }

    private static func isNameTerminator(_ c: Unicode.Scalar) -> Bool {
        switch c { case "\t", "\n", "\u{0C}", " ", "<", "&", "#", ";": return true; default: return false }
    }

    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: scalars)
        return String(s)
    }

    /// Named branch of `_replace_charref`: the whole name, else the longest prefix of at least two
    /// characters that is an html5 name (names without ';' are the legacy ones such as "amp").
    private func replaceNamed(_ name: [Unicode.Scalar]) -> [Unicode.Scalar] {
        // Keys are ASCII; a name with other scalars can match only through an ASCII prefix.
        if let v = entities.html5[Self.string(name[...])], name.allSatisfy(\.isASCII) { return v }
        var x = name.count - 1
        while x > 1 {
            if name[..<x].allSatisfy(\.isASCII), let v = entities.html5[Self.string(name[..<x])] { return v + name[x...] }
            x -= 1
        }
        return ["&"] + name
    }

    /// ftfy's `fixes.unescape_html`: only `&#?[0-9A-Za-z]{1,24};` is considered; names come from
    /// ftfy's table, numeric references are decoded by `html.unescape` only when it consumes the ';'.
    func ftfyUnescape(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard s.contains("&") else { return s }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        let n = s.count
        var i = 0
        while i < n {
            let c = s[i]
            guard c == "&" else { out.append(c); i += 1; continue }
            var j = i + 1
            if j < n && s[j] == "#" { j += 1 }
            let start = j
            while j < n && j - start < 24 && Self.isASCIIAlphanumeric(s[j]) { j += 1 }
            guard j > start, j < n, s[j] == ";" else { out.append(c); i += 1; continue }
            let match = Array(s[i...j])  // "&...;"
            i = j + 1
            if let v = entities.ftfy[Self.string(match[1...])] {
                out.append(contentsOf: v)
            } else if match[1] == "#" {
                let decoded = unescape(match)
                out.append(contentsOf: decoded.contains(";") ? match : decoded)
            } else {
                out.append(contentsOf: match)
            }
        }
        return out
    }

    private static func isASCIIAlphanumeric(_ c: Unicode.Scalar) -> Bool {
        switch c.value { case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true; default: return false }
    }
}
