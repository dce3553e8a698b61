import Foundation

/// One file of a model repository on the hub, at a revision (branch, tag or commit).
public struct HubFileReference: Equatable, Hashable, Sendable, CustomStringConvertible {
    public static let defaultRevision = "main"

    /// "OWNER/REPO".
    public let repo: String
    public let revision: String
    /// Path inside the repository, '/'-separated.
    public let file: String

    /// Validates as huggingface_hub does (`validate_repo_id`, `_validate_relative_filename`).
    public init(repo: String, revision: String = defaultRevision, file: String) throws(HubError) {
        let uri = "hf://\(repo)\(revision == Self.defaultRevision ? "" : "@\(revision)")/\(file)"
        try Self.validate(repo: repo, uri: uri)
        guard !revision.isEmpty else { throw .malformedURI(uri, reason: "empty revision after '@'") }
        guard !file.isEmpty else { throw .malformedURI(uri, reason: "no FILE after the repository") }
        let parts = file.split(separator: "/", omittingEmptySubsequences: false)
        guard !file.hasPrefix("/"), !parts.contains(where: { $0.isEmpty }) else {
            throw .malformedURI(uri, reason: "FILE '\(file)' has an empty path segment")
        }
        guard !parts.contains(where: { $0 == ".." || $0 == "." }) else {
            throw .malformedURI(uri, reason: "FILE '\(file)' may not contain '.' or '..' segments")
        }
        guard !file.contains("\\") else { throw .malformedURI(uri, reason: "FILE '\(file)' may not contain '\\'") }
        self.repo = repo
        self.revision = revision
        self.file = file
    }

    /// Values of the built-in table (a test validates every entry).
    init(unchecked repo: String, revision: String, file: String) {
        self.repo = repo
        self.revision = revision
        self.file = file
    }

    public var description: String {
        "hf://\(repo)\(revision == Self.defaultRevision ? "" : "@\(Self.encodeRevision(revision))")/\(file)"
    }

    /// huggingface_hub's `REPO_ID_REGEX` plus its extra rules, for the OWNER/REPO form.
    static func validate(repo: String, uri: String) throws(HubError) {
        let parts = repo.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .malformedURI(uri, reason: "the repository must be OWNER/REPO")
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        for part in parts {
            guard part.allSatisfy({ allowed.contains($0) }) else {
                throw .malformedURI(uri, reason: "'\(part)' may only use letters, digits, '-', '_' and '.'")
            }
            guard let first = part.first, let last = part.last, !"-.".contains(first), !"-.".contains(last) else {
                throw .malformedURI(uri, reason: "'\(part)' may not start or end with '-' or '.'")
            }
        }
        guard parts[1].count <= 96 else { throw .malformedURI(uri, reason: "the repository name is longer than 96 characters") }
        guard !repo.contains("--"), !repo.contains("..") else { throw .malformedURI(uri, reason: "the repository may not contain '--' or '..'") }
        guard !repo.hasSuffix(".git") else { throw .malformedURI(uri, reason: "the repository may not end with '.git'") }
    }

    /// A revision holding '/' (refs/pr/1) is written percent-encoded after '@'.
    static func encodeRevision(_ r: String) -> String {
        r.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "/").inverted.intersection(.urlPathAllowed)) ?? r
    }
}

/// Where the weights come from: `--weights` as given on a command line or in cluster.yaml.
public enum WeightsSource: Equatable, Sendable {
    case localFile(String)
    case hub(HubFileReference)

    public static let scheme = "hf://"

    /// A local path, or `hf://OWNER/REPO[@REVISION]/FILE` (revision `main` when omitted; a
    /// revision containing '/' is percent-encoded: `@refs%2Fpr%2F1`).
    public static func parse(_ text: String) throws(HubError) -> WeightsSource {
        guard text.lowercased().hasPrefix("hf:") else {
            guard !text.isEmpty else { throw .malformedURI(text, reason: "empty weights path") }
            return .localFile(text)
        }
        guard text.hasPrefix(scheme) else {
            throw .malformedURI(text, reason: "the scheme must be written 'hf://'")
        }
        let rest = String(text.dropFirst(scheme.count))
        if rest.hasPrefix("datasets/") || rest.hasPrefix("spaces/") {
            throw .malformedURI(text, reason: "only model repositories hold weights (no datasets/ or spaces/)")
        }
        let segments = rest.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard segments.count == 3 else {
            if segments.count == 2, !segments[0].isEmpty, !segments[1].isEmpty {
                throw .malformedURI(text, reason: "no FILE after OWNER/REPO (open_clip checkpoints are \(PretrainedWeights.defaultFile))")
            }
            throw .malformedURI(text, reason: "the repository must be OWNER/REPO")
        }
        let owner = segments[0]
        var name = segments[1]
        var revision = HubFileReference.defaultRevision
        if let at = name.firstIndex(of: "@") {
            let encoded = String(name[name.index(after: at)...])
            name = String(name[..<at])
            guard let decoded = encoded.removingPercentEncoding, !decoded.isEmpty else {
                throw .malformedURI(text, reason: "empty or badly encoded revision after '@'")
            }
            revision = decoded
        }
        return .hub(try HubFileReference(repo: "\(owner)/\(name)", revision: revision, file: segments[2]))
    }
}
