import Yams

/// A key given twice in one YAML mapping. Yams keeps both pairs and its decoder silently reads
/// the last one, so a second `endpoint:` further down a long cluster.yaml would quietly win over
/// the first: it is an error instead, naming the key and both lines.
public struct DuplicateKey: Error, Equatable, Sendable, CustomStringConvertible {
    /// The key's path from the top (`["coordinator", "endpoint"]`).
    public let path: [String]
    /// The 1-based lines of its first and second occurrence.
    public let lines: [Int]
    public let source: String

    public var description: String {
        "\(source): \(path.joined(separator: ".")) is given twice (lines \(lines.map(String.init).joined(separator: " and "))); keep one"
    }

    /// Throws the first key given twice in any mapping under `node` (YAML merge keys `<<` are
    /// left to YAML's own rules).
    static func check(_ node: Node, source: String, path: [String] = []) throws(DuplicateKey) {
        if let mapping = node.mapping {
            var seen: [String: Int] = [:]
            for (key, value) in mapping {
                guard let name = key.string, name != "<<" else { continue }
                let line = (key.mark?.line ?? 0)
                if let first = seen[name] { throw DuplicateKey(path: path + [name], lines: [first, line], source: source) }
                seen[name] = line
                try check(value, source: source, path: path + [name])
            }
        } else if let sequence = node.sequence {
            for (i, element) in sequence.enumerated() { try check(element, source: source, path: path + [String(i)]) }
        }
    }
}
