import Foundation

/// The public keys the coordinator trusts, read from `authorized_workers` and
/// `authorized_clients`: every `*.key` file of each folder (as czmq's certificate store and
/// pyzmq's `load_certificates` read them), named by its file name. Which folder holds a key
/// decides its role.
public struct KeyRing: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let key: CurveKey
        public let name: String
        public let role: PeerRole
        public let file: String
        public var identity: PeerIdentity { .key(name: name, role: role) }
    }

    /// By the key's Z85 text (what the ZAP handler puts in each message's User-Id).
    public private(set) var entries: [String: Entry] = [:]

    public init(_ entries: [Entry] = []) {
        for e in entries { self.entries[e.key.z85] = e }
    }

    public struct KeyRingError: Error, CustomStringConvertible, Equatable, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// `operators` (optional): keys that may see the whole rack's status.
    public static func load(workers: URL, clients: URL, operators: URL? = nil) throws(KeyRingError) -> KeyRing {
        var ring = KeyRing()
        var folders = [(workers, PeerRole.worker, "authorized_workers"), (clients, PeerRole.client, "authorized_clients")]
        if let operators { folders.append((operators, PeerRole.operator, "authorized_operators")) }
        for (folder, role, setting) in folders {
            let files: [String]
            do { files = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
                throw KeyRingError("security.\(setting): cannot read the folder \(folder.path): \(error.localizedDescription)")
            }
            for file in files.sorted() where file.hasSuffix(".key") && !file.hasPrefix(".") {
                let url = folder.appendingPathComponent(file)
                let certificate: CurveCertificate
                do { certificate = try CurveCertificate.read(url) } catch { throw KeyRingError("security.\(setting): \(error)") }
                let entry = Entry(key: certificate.publicKey, name: String(file.dropLast(4)), role: role, file: url.path)
                if let other = ring.entries[entry.key.z85] {
                    throw KeyRingError("the key \(entry.key.fingerprint) is in both \(other.file) and \(url.path): one key, one name and one role")
                }
                ring.entries[entry.key.z85] = entry
            }
        }
        return ring
    }

    public func entry(z85: String) -> Entry? { entries[z85] }

    public func count(_ role: PeerRole) -> Int { entries.values.filter { $0.role == role }.count }

    /// The identities of this ring that `newer` no longer grants: keys removed, or moved to
    /// another name or role.
    public func revoked(in newer: KeyRing) -> Set<PeerIdentity> {
        Set(entries.values.filter { newer.entries[$0.key.z85] != $0 }.map(\.identity))
            .subtracting(newer.entries.values.map(\.identity))
    }
}
