import Crypto
import Foundation

/// What the hub's ETag says about a file's bytes: for a file in git LFS (every weights file)
/// it is the SHA-256 of the content; for a file kept in git it is the git blob id, the SHA-1
/// of "blob <size>\0" + content. Anything else cannot be checked beyond its size.
public enum BlobDigest: Equatable, Sendable {
    case sha256(String)
    case gitBlobSHA1(String)
    case unverifiable(String)

    public init(etag: String) {
        let hex = etag.lowercased()
        let isHex = hex.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        switch (isHex, hex.utf8.count) {
        case (true, 64): self = .sha256(hex)
        case (true, 40): self = .gitBlobSHA1(hex)
        default: self = .unverifiable(etag)
        }
    }

    public var algorithm: String {
        switch self {
        case .sha256: return "SHA-256"
        case .gitBlobSHA1: return "git blob SHA-1"
        case .unverifiable: return "none"
        }
    }

    /// Checks the file against the digest: nil when it matches (or cannot be checked), else
    /// the digest the file actually has.
    public func mismatch(file: URL) throws -> String? {
        switch self {
        case let .sha256(expected):
            let actual = try Self.hex(Self.stream(file, into: SHA256()))
            return actual == expected ? nil : actual
        case let .gitBlobSHA1(expected):
            let size = try Self.size(of: file)
            var hasher = Insecure.SHA1()
            hasher.update(data: Data("blob \(size)\0".utf8))
            let actual = try Self.hex(Self.stream(file, into: hasher))
            return actual == expected ? nil : actual
        case .unverifiable:
            return nil
        }
    }

    /// SHA-256 of a file, lower-case hex.
    public static func sha256(file: URL) throws -> String { try hex(stream(file, into: SHA256())) }

    static func stream<H: HashFunction>(_ file: URL, into start: H) throws -> H.Digest {
        var hasher = start
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: file) } catch {
            throw HubError.io("cannot read \(file.path): \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 8 << 20) } catch {
                throw HubError.io("cannot read \(file.path): \(error.localizedDescription)")
            }
            guard let chunk, !chunk.isEmpty else { break }
            hasher.update(data: chunk)
        }
        return hasher.finalize()
    }

    /// The size of the file itself, following a snapshot's symlink to its blob.
    static func size(of file: URL) throws -> Int64 {
        do { return (try FileManager.default.attributesOfItem(atPath: file.resolvingSymlinksInPath().path)[.size] as? NSNumber)?.int64Value ?? 0 } catch {
            throw HubError.io("cannot read \(file.path): \(error.localizedDescription)")
        }
    }

    static func hex<D: Digest>(_ digest: D) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}
