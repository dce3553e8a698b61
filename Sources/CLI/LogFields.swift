/// The fields a log shipper filters on, read off a log line's words: `job 123`, `worker NAME`,
/// `image PATH-OR-INDEX`. Every program here names them that way in its messages (the
/// coordinator's machine logs plain text, with no logger of its own), so a JSON line carries
/// them as fields without each call site repeating them as metadata.
public enum LogFields {
    public static let keys = ["job", "worker", "image"]

    /// The first `job` (digits only), `worker` and `image` named in `text`.
    public static func scan(_ text: String) -> [String: String] {
        var found: [String: String] = [:]
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        for (i, word) in words.enumerated() where i + 1 < words.count {
            let key = word.lowercased()
            guard keys.contains(key), found[key] == nil else { continue }
            var value = Substring(words[i + 1])
            // Trailing punctuation belongs to the sentence, not the name ("job 12:", "(worker w1)").
            while let last = value.last, ":,;)'\"".contains(last) { value = value.dropLast() }
            while let first = value.first, "('\"[".contains(first) { value = value.dropFirst() }
            guard !value.isEmpty else { continue }
            if key == "job" && !value.allSatisfy(\.isNumber) { continue }
            found[key] = String(value)
        }
        return found
    }
}
