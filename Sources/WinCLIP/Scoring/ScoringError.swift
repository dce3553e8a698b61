/// A WinCLIP input or result that cannot be used, with the reason.
public struct ScoringError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
