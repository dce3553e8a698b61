/// Strict decoding for configuration and wire bodies: a key the type does not know is an
/// error naming it (a misspelled `endpont:` must not be silently ignored).
extension Decoder {
    public func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_: Keys.Type) throws {
        let present = try container(keyedBy: AnyCodingKey.self).allKeys
        let known = Set(Keys.allCases.map(\.stringValue))
        if let unknown = present.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath + [unknown],
                debugDescription: "unknown key '\(unknown.stringValue)' (known: \(known.sorted().joined(separator: ", ")))"))
        }
    }
}

/// Any string key, for reading the keys a mapping actually has.
public struct AnyCodingKey: CodingKey, Hashable, Sendable {
    public let stringValue: String
    public let intValue: Int?
    public init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    public init(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
}
