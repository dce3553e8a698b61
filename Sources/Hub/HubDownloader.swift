import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// huggingface_hub's `hf_hub_download` into its cache: metadata from the `resolve` route, the
/// blob downloaded once under a lock, resumed with `Range`, verified, then linked from the
/// commit's snapshot.
public struct HubDownloader: Sendable {
    /// When to ask the hub.
    public enum Policy: Equatable, Sendable {
        /// A file cached for the revision is used with no network call (jobs and workers: a
        /// second run costs nothing and a job stays on the weights it started with).
        case preferCache
        /// Ask the hub which commit the revision is at, as huggingface_hub does, and download
        /// if that commit's file is not cached (`fetch-weights`: refreshes `main`).
        case checkHub
        /// Never use the network.
        case cacheOnly
    }

    public let settings: HubSettings
    public let cache: HubCache
    public var client = HubHTTPClient()

    public init(settings: HubSettings) {
        self.settings = settings
        cache = HubCache(directory: settings.cacheDirectory)
    }

    /// The file for `ref` in the cache, downloading it if needed. `isCancelled` is polled while
    /// downloading and waiting for another process's download (the programs' SIGINT/SIGTERM).
    public func fetch(_ ref: HubFileReference, policy: Policy = .preferCache, progress: HubProgressHandler? = nil,
                      isCancelled: (@Sendable () -> Bool)? = nil) throws -> HubFetchResult {
        // A cached commit-hash revision never changes: no question to ask.
        if policy != .checkHub || HubCache.isCommitHash(ref.revision) || settings.isOffline {
            if let hit = cache.cachedFile(ref) { return HubFetchResult(path: hit.path, commit: hit.commit, outcome: .cached) }
        }
        if let variable = settings.offlineVariable { throw HubError.notCached(notCached(ref, .offlineMode(variable: variable))) }
        if policy == .cacheOnly { throw HubError.notCached(notCached(ref, .cacheOnly)) }

        let metadata: FileMetadata
        switch try metadataOrFailure(ref) {
        case let .success(m): metadata = m
        case let .failure(failure):
            // As huggingface_hub: whatever keeps the hub from answering, a cached snapshot of
            // the revision serves; without one, say why.
            if let hit = cache.cachedFile(ref) {
                return HubFetchResult(path: hit.path, commit: hit.commit, outcome: .cachedAfterHubFailure(failure.description))
            }
            switch failure {
            case let .unreachable(message): throw HubError.notCached(notCached(ref, .unreachable(endpoint: settings.endpoint, message: message)))
            case let .answered(error): throw error
            }
        }
        return try place(ref, metadata, progress: progress, isCancelled: isCancelled ?? { false })
    }

    func notCached(_ ref: HubFileReference, _ reason: HubError.NotCached.Reason) -> HubError.NotCached {
        .init(repo: ref.repo, revision: ref.revision, file: ref.file, cacheDirectory: cache.directory.path,
              snapshotPattern: cache.pointerPattern(ref), reason: reason)
    }

    // MARK: Metadata

    /// What the `resolve` route says about a file (`get_hf_file_metadata`).
    struct FileMetadata: Equatable, Sendable {
        var commit: String
        var etag: String
        var size: Int64
        /// Where the bytes are: the CDN URL of the redirect, or the resolve URL itself.
        var location: URL
    }

    enum MetadataFailure: Error, CustomStringConvertible {
        case unreachable(String)
        /// The hub answered, with an error that a cached copy may still stand in for.
        case answered(HubError)
        var description: String {
            switch self {
            case let .unreachable(m): return m
            case let .answered(e): return e.description
            }
        }
    }

    func requestHeaders(for url: URL) -> [String: String] {
        var h: [String: String] = [:]
        // The token goes to the hub only, never to a CDN's signed URL.
        if let token = settings.token, let hub = URL(string: settings.endpoint),
           HubHTTPClient.origin(url) == HubHTTPClient.origin(hub) { h["Authorization"] = "Bearer \(token)" }
        return h
    }

    /// HEAD on the resolve URL. Missing repository, revision or file are thrown at once (the
    /// hub answered for sure); other failures are returned so that the cache can serve.
    func metadataOrFailure(_ ref: HubFileReference) throws -> Result<FileMetadata, MetadataFailure> {
        guard let url = settings.resolveURL(ref) else { throw HubError.io("cannot form a URL from HF_ENDPOINT=\(settings.endpoint)") }
        let response: HubResponse
        do { response = try client.head(url, headers: requestHeaders(for: url), timeout: settings.metadataTimeout) } catch {
            switch error {
            case let .unreachable(m), let .interrupted(m): return .failure(.unreachable(m))
            case let .sinkFailed(e): return .failure(.answered(e))
            }
        }
        let errorCode = response.header("X-Error-Code")
        let message = response.header("X-Error-Message") ?? ""
        switch response.status {
        case 200..<400:
            break
        case _ where errorCode == "EntryNotFound":
            throw HubError.fileNotFound(repo: ref.repo, revision: ref.revision, file: ref.file, url: url.absoluteString)
        case _ where errorCode == "RevisionNotFound":
            throw HubError.revisionNotFound(repo: ref.repo, revision: ref.revision, url: url.absoluteString)
        case _ where errorCode == "RepoNotFound" || (response.status == 401 && message != "Invalid credentials in Authorization header"):
            // The hub answers 401 for a repository that does not exist or is private.
            return .failure(.answered(.repositoryNotFound(repo: ref.repo, url: url.absoluteString, status: response.status)))
        case 404:
            throw HubError.fileNotFound(repo: ref.repo, revision: ref.revision, file: ref.file, url: url.absoluteString)
        default:
            let detail = errorCode == "GatedRepo" ? "gated repository: accept its terms on the hub and set HF_TOKEN" : message
            return .failure(.answered(.httpStatus(response.status, url: url.absoluteString, message: detail)))
        }
        guard let commit = response.header("X-Repo-Commit"), !commit.isEmpty else {
            return .failure(.answered(.missingMetadata(url: url.absoluteString, header: "X-Repo-Commit")))
        }
        guard let etag = Self.normalizeETag(response.header("X-Linked-Etag") ?? response.header("ETag")) else {
            return .failure(.answered(.missingMetadata(url: url.absoluteString, header: "ETag")))
        }
        let sizeText = response.header("X-Linked-Size") ?? (response.isRedirect ? nil : response.header("Content-Length"))
        guard let size = sizeText.flatMap({ Int64($0) }) else {
            return .failure(.answered(.missingMetadata(url: url.absoluteString, header: "X-Linked-Size")))
        }
        var location = response.url
        if response.isRedirect, let l = response.header("Location"), let target = URL(string: l, relativeTo: response.url)?.absoluteURL {
            location = target
        }
        return .success(FileMetadata(commit: commit, etag: etag, size: size, location: location))
    }

    /// `_normalize_etag`: W/"x" and "x" -> x.
    static func normalizeETag(_ etag: String?) -> String? {
        guard var e = etag else { return nil }
        if e.hasPrefix("W/") { e.removeFirst(2) }
        e = e.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        return e.isEmpty || e.contains("/") ? nil : e
    }

    // MARK: Download

    func place(_ ref: HubFileReference, _ m: FileMetadata, progress: HubProgressHandler?, isCancelled: @escaping @Sendable () -> Bool) throws -> HubFetchResult {
        let pointer = cache.pointer(ref, commit: m.commit)
        if FileManager.default.fileExists(atPath: pointer.path) {
            try? cache.writeRef(ref, commit: m.commit)
            return HubFetchResult(path: pointer, commit: m.commit, outcome: .alreadyCurrent)
        }
        let blob = cache.blob(ref.repo, etag: m.etag)
        try cache.createDirectory(blob.deletingLastPathComponent())
        cache.tagDirectory()
        // One process downloads a blob; the others wait here, then find it in place.
        let lock = try FileLock(path: cache.lock(ref.repo, etag: m.etag), waiting: {
            progress?(.waitingForLock(file: ref.file, lock: cache.lock(ref.repo, etag: m.etag).path))
        }, isCancelled: isCancelled)
        defer { lock.unlock() }
        var outcome = HubFetchResult.Outcome.alreadyCurrent
        if !FileManager.default.fileExists(atPath: blob.path) {
            let report = try download(ref, m, progress: progress, isCancelled: isCancelled)
            outcome = .downloaded(report)
        }
        let linked = try cache.link(ref, commit: m.commit, etag: m.etag)
        try cache.writeRef(ref, commit: m.commit)
        return HubFetchResult(path: linked, commit: m.commit, outcome: outcome)
    }

    /// Into blobs/<etag>.incomplete, resuming what an earlier attempt left there, then checked
    /// and renamed to blobs/<etag>. Called with the blob's lock held.
    func download(_ ref: HubFileReference, _ m: FileMetadata, progress: HubProgressHandler?, isCancelled: @escaping @Sendable () -> Bool) throws -> DownloadReport {
        let incomplete = cache.incompleteBlob(ref.repo, etag: m.etag)
        let blob = cache.blob(ref.repo, etag: m.etag)
        if !FileManager.default.fileExists(atPath: incomplete.path), !FileManager.default.createFile(atPath: incomplete.path, contents: nil) {
            throw HubError.io("cannot create \(incomplete.path)")
        }
        let resumedFrom = min(try Self.sizeOnDisk(incomplete), m.size)
        var report = DownloadReport(size: m.size, resumedFrom: resumedFrom, requests: 0, transferred: 0, interruptions: 0)
        progress?(.started(file: ref.file, total: m.size, resumedFrom: resumedFrom))
        var failures = 0
        var lastFailure = ""
        while true {
            var onDisk = try Self.sizeOnDisk(incomplete)
            if onDisk > m.size {
                // Not a prefix of this blob: start over.
                try Self.truncateFile(incomplete, to: 0)
                onDisk = 0
            }
            if onDisk == m.size { break }
            if isCancelled() { throw HubError.cancelled(file: "\(ref.repo)/\(ref.file)", bytesOnDisk: onDisk, partialFile: incomplete.path) }
            guard failures <= settings.downloadRetries else {
                throw HubError.transferFailed(url: m.location.absoluteString, message: lastFailure, bytesOnDisk: onDisk, partialFile: incomplete.path)
            }
            let sink = try BlobFileSink(path: incomplete, offset: onDisk, total: m.size, file: ref.file, progress: progress,
                                        isCancelled: isCancelled)
            report.requests += 1
            let response: HubResponse
            do {
                response = try client.get(m.location, headers: requestHeaders(for: m.location), offset: onDisk,
                                          timeout: settings.downloadTimeout, sink: sink)
                sink.close()
            } catch {
                sink.close()
                report.transferred += sink.written
                switch error {
                case .sinkFailed(.cancelled):
                    throw HubError.cancelled(file: "\(ref.repo)/\(ref.file)", bytesOnDisk: try Self.sizeOnDisk(incomplete), partialFile: incomplete.path)
                case let .sinkFailed(e): throw e
                case let .unreachable(message), let .interrupted(message):
                    // huggingface_hub's http_get: a dropped transfer is resumed from what is on disk.
                    failures = sink.written > 0 ? 1 : failures + 1
                    lastFailure = message
                    report.interruptions += 1
                    progress?(.resuming(file: ref.file, onDisk: try Self.sizeOnDisk(incomplete), message: message))
                    Thread.sleep(forTimeInterval: min(1.0, 0.1 * Double(failures)))
                    continue
                }
            }
            report.transferred += sink.written
            switch response.status {
            case 200, 206:
                if sink.written == 0, try Self.sizeOnDisk(incomplete) < m.size {
                    failures += 1
                    lastFailure = "the answer ended without data"
                }
            case 416:
                // The range is past the end: what is on disk is not this blob's prefix.
                try Self.truncateFile(incomplete, to: 0)
                failures += 1
                lastFailure = "HTTP 416 for a resumed range"
            default:
                throw HubError.httpStatus(response.status, url: m.location.absoluteString,
                                          message: response.header("X-Error-Message") ?? "the download was refused")
            }
        }
        let digest = BlobDigest(etag: m.etag)
        progress?(.verifying(file: ref.file, algorithm: digest.algorithm))
        let actualSize = try Self.sizeOnDisk(incomplete)
        guard actualSize == m.size else {
            try? FileManager.default.removeItem(at: incomplete)
            throw HubError.sizeMismatch(file: "\(ref.repo)/\(ref.file)", expected: m.size, actual: actualSize)
        }
        if let actual = try digest.mismatch(file: incomplete) {
            // Wrong bytes are not a prefix worth resuming: nothing of them is kept.
            try? FileManager.default.removeItem(at: incomplete)
            let expected: String
            switch digest {
            case let .sha256(e), let .gitBlobSHA1(e), let .unverifiable(e): expected = e
            }
            throw HubError.checksumMismatch(file: "\(ref.repo)/\(ref.file)", expected: expected, actual: actual, algorithm: digest.algorithm)
        }
        guard rename(incomplete.path, blob.path) == 0 else {
            throw HubError.io("cannot move \(incomplete.path) to \(blob.path): \(String(cString: strerror(errno)))")
        }
        progress?(.finished(file: ref.file, bytes: m.size))
        return report
    }

    static func sizeOnDisk(_ url: URL) throws -> Int64 {
        guard FileManager.default.fileExists(atPath: url.path) else { return 0 }
        return try BlobDigest.size(of: url)
    }

    static func truncateFile(_ url: URL, to size: Int64) throws {
        guard url.withUnsafeFileSystemRepresentation({ truncate($0!, off_t(size)) }) == 0 else {
            throw HubError.io("cannot truncate \(url.path): \(String(cString: strerror(errno)))")
        }
    }
}

/// What `HubDownloader.fetch` found or did.
public struct HubFetchResult: Equatable, Sendable {
    /// snapshots/<commit>/<file> in the cache (a symlink to the blob).
    public var path: URL
    public var commit: String
    public var outcome: Outcome

    public enum Outcome: Equatable, Sendable {
        /// Found in the cache without any network call.
        case cached
        /// The hub was asked; its current file was already in the cache.
        case alreadyCurrent
        case downloaded(DownloadReport)
        /// The hub could not be asked (unreachable, or an error); the cached snapshot serves.
        case cachedAfterHubFailure(String)
    }
}

/// Figures of one download.
public struct DownloadReport: Equatable, Sendable {
    /// The blob's size.
    public var size: Int64
    /// Bytes already in blobs/<etag>.incomplete when this download started.
    public var resumedFrom: Int64
    /// GET requests for the body (1 when nothing went wrong).
    public var requests: Int
    /// Body bytes received by this download.
    public var transferred: Int64
    /// Transfers that dropped and were resumed.
    public var interruptions: Int
}

/// Writes a GET's body into blobs/<etag>.incomplete from `offset`, or from 0 when the server
/// ignored the Range and sent everything (status 200).
final class BlobFileSink: DownloadSink, @unchecked Sendable {
    // Written on the URLSession delegate queue only, read by the caller after the transfer
    // ended (the semaphore orders the two); the lock states it for the checker.
    private let lock = NSLock()
    private let handle: FileHandle
    private let path: URL
    private let offset: Int64
    private let total: Int64
    private let file: String
    private let progress: HubProgressHandler?
    private let isCancelled: @Sendable () -> Bool
    private var position: Int64
    private var bytesWritten: Int64 = 0

    init(path: URL, offset: Int64, total: Int64, file: String, progress: HubProgressHandler?, isCancelled: @escaping @Sendable () -> Bool) throws {
        if !FileManager.default.fileExists(atPath: path.path) {
            guard FileManager.default.createFile(atPath: path.path, contents: nil) else {
                throw HubError.io("cannot create \(path.path)")
            }
        }
        do { handle = try FileHandle(forWritingTo: path) } catch {
            throw HubError.io("cannot write \(path.path): \(error.localizedDescription)")
        }
        self.path = path
        self.offset = offset
        self.total = total
        self.file = file
        self.progress = progress
        self.isCancelled = isCancelled
        position = offset
    }

    var written: Int64 {
        lock.lock()
        defer { lock.unlock() }
        return bytesWritten
    }

    func begin(_ response: HubResponse) throws(HubError) {
        lock.lock()
        defer { lock.unlock() }
        var start: Int64 = 0
        if response.status == 206 {
            // "bytes START-END/TOTAL": the body must continue exactly where the file ends.
            let range = response.header("Content-Range") ?? ""
            let numbers = range.split(whereSeparator: { !$0.isNumber }).compactMap { Int64($0) }
            guard let first = numbers.first, first == offset else {
                throw .io("the server answered Content-Range '\(range)' to a request for bytes \(offset)- of \(path.lastPathComponent)")
            }
            start = first
        }
        do {
            try handle.truncate(atOffset: UInt64(start))
            try handle.seek(toOffset: UInt64(start))
        } catch { throw .io("cannot write \(path.path): \(error.localizedDescription)") }
        position = start
    }

    func write(_ chunk: Data) throws(HubError) {
        if isCancelled() { throw .cancelled(file: file, bytesOnDisk: 0, partialFile: path.path) }
        lock.lock()
        do { try handle.write(contentsOf: chunk) } catch {
            lock.unlock()
            throw .io("cannot write \(path.path): \(error.localizedDescription)")
        }
        position += Int64(chunk.count)
        bytesWritten += Int64(chunk.count)
        let received = position
        lock.unlock()
        progress?(.received(file: file, received: received, total: total))
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        try? handle.synchronize()
        try? handle.close()
    }
}
