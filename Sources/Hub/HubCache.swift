import Foundation

/// huggingface_hub's cache layout, so that a file downloaded by either is found by the other:
///
///     <cache>/models--OWNER--REPO/blobs/<etag>                      the bytes
///     <cache>/models--OWNER--REPO/snapshots/<commit>/<file>         -> ../../blobs/<etag>
///     <cache>/models--OWNER--REPO/refs/<revision>                   the commit, no newline
///     <cache>/.locks/models--OWNER--REPO/<etag>.lock                one download at a time
public struct HubCache: Equatable, Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory.standardizedFileURL }

    /// `repo_folder_name`: "models--OWNER--REPO".
    public static func folderName(repo: String) -> String {
        (["models"] + repo.split(separator: "/").map(String.init)).joined(separator: "--")
    }

    public func repoFolder(_ repo: String) -> URL { directory.appendingPathComponent(Self.folderName(repo: repo), isDirectory: true) }
    public func blob(_ repo: String, etag: String) -> URL { repoFolder(repo).appendingPathComponent("blobs/\(etag)") }
    public func incompleteBlob(_ repo: String, etag: String) -> URL { repoFolder(repo).appendingPathComponent("blobs/\(etag).incomplete") }
    public func ref(_ repo: String, revision: String) -> URL { repoFolder(repo).appendingPathComponent("refs/\(revision)") }
    public func pointer(_ ref: HubFileReference, commit: String) -> URL {
        repoFolder(ref.repo).appendingPathComponent("snapshots/\(commit)/\(ref.file)")
    }
    public func lock(_ repo: String, etag: String) -> URL {
        directory.appendingPathComponent(".locks/\(Self.folderName(repo: repo))/\(etag).lock")
    }

    /// Where a file of `ref` lands, with `<commit>` for the part only the hub knows.
    public func pointerPattern(_ ref: HubFileReference) -> String {
        repoFolder(ref.repo).appendingPathComponent("snapshots/<commit>/\(ref.file)").path
    }

    /// A 40-hex-digit revision names a commit: its snapshot is looked up directly.
    public static func isCommitHash(_ revision: String) -> Bool {
        revision.utf8.count == 40 && revision.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// The commit `refs/<revision>` points to (a commit-hash revision is its own commit).
    public func commit(for ref: HubFileReference) -> String? {
        if Self.isCommitHash(ref.revision) { return ref.revision }
        guard let text = try? String(contentsOf: self.ref(ref.repo, revision: ref.revision), encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty ? nil : commit
    }

    /// The cached file for `ref` as huggingface_hub's `try_to_load_from_cache` finds it:
    /// refs/<revision> -> snapshots/<commit>/<file>, which must resolve to an existing file.
    public func cachedFile(_ ref: HubFileReference) -> (path: URL, commit: String)? {
        guard let commit = commit(for: ref) else { return nil }
        let pointer = pointer(ref, commit: commit)
        var isDirectory: ObjCBool = false
        // fileExists follows the symlink: a dangling pointer (blob deleted) is not a cached file.
        guard FileManager.default.fileExists(atPath: pointer.path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        return (pointer, commit)
    }

    /// `_cache_commit_hash_for_specific_revision`: refs/<revision> written atomically
    /// (temporary file + rename), only when it changes.
    public func writeRef(_ ref: HubFileReference, commit: String) throws {
        guard ref.revision != commit else { return }
        let url = self.ref(ref.repo, revision: ref.revision)
        if (try? String(contentsOf: url, encoding: .utf8)) == commit { return }
        try createDirectory(url.deletingLastPathComponent())
        let tmp = url.deletingLastPathComponent().appendingPathComponent("\(url.lastPathComponent).\(UUID().uuidString.prefix(8).lowercased()).tmp")
        do { try Data(commit.utf8).write(to: tmp) } catch {
            throw HubError.io("cannot write \(tmp.path): \(error.localizedDescription)")
        }
        // rename(2) replaces atomically: a reader sees the old commit or the new one.
        guard rename(tmp.path, url.path) == 0 else {
            let message = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw HubError.io("cannot write \(url.path): \(message)")
        }
    }

    /// `_create_symlink`: snapshots/<commit>/<file> -> ../../blobs/<etag> (one more "../" per
    /// folder in <file>), relative so that the cache folder can be moved or copied.
    public func link(_ ref: HubFileReference, commit: String, etag: String) throws -> URL {
        let pointer = pointer(ref, commit: commit)
        try createDirectory(pointer.deletingLastPathComponent())
        let depth = ref.file.split(separator: "/").count - 1
        let target = String(repeating: "../", count: 2 + depth) + "blobs/\(etag)"
        try? FileManager.default.removeItem(at: pointer)
        do {
            try FileManager.default.createSymbolicLink(atPath: pointer.path, withDestinationPath: target)
        } catch {
            // Another process made the same link between the removal and now: fine if it is ours.
            let existing = try? FileManager.default.destinationOfSymbolicLink(atPath: pointer.path)
            guard existing == target else { throw HubError.io("cannot link \(pointer.path) -> \(target): \(error.localizedDescription)") }
        }
        return pointer
    }

    /// huggingface_hub tags its cache so that backup tools skip it (CACHEDIR.TAG).
    public func tagDirectory() {
        let tag = directory.appendingPathComponent("CACHEDIR.TAG")
        guard !FileManager.default.fileExists(atPath: tag.path) else { return }
        let text = "Signature: 8a477f597d28d172789f06886806bc55\n# A Hugging Face hub cache (Cache Directory Tagging Specification).\n"
        try? Data(text.utf8).write(to: tag)
    }

    func createDirectory(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw HubError.io("cannot create \(url.path): \(error.localizedDescription)")
        }
    }
}
