import Foundation

/// Forms of one weight that a backend derives once and reuses (oneDNN's bf16 copy), kept with
/// the weight so that they live exactly as long as the model that owns it.
///
/// `@unchecked Sendable` is safe: the only mutable state, `entries`, is read and written with
/// `lock` held, and every stored value is itself `Sendable`.
public final class PreparedWeights: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: any Sendable] = [:]

    public init() {}

    /// The value stored under `key`, made by `make` on first use. The lock is held while making,
    /// so each form is made once even when several threads ask at the same time.
    func value<T: Sendable>(_ key: String, make: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        if let existing = entries[key] as? T { return existing }
        let made = try make()
        entries[key] = made
        return made
    }

    /// How many forms are stored (for tests).
    var count: Int { lock.lock(); defer { lock.unlock() }; return entries.count }
}
