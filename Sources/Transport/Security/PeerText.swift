/// Strings a peer supplies (worker names, class names, error texts) are cut before they reach
/// a log or another peer: a hostile peer must not be able to fill the disk with its words.
package enum PeerText {
    /// Characters of a peer's string kept in logs.
    package static let limit = 200
    /// Characters of any one log line.
    package static let maxLine = 2000

    package static func clip(_ text: String, to limit: Int = PeerText.limit) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "… (\(text.count) characters)"
    }
}
