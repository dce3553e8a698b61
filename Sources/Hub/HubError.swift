import Foundation

/// Everything that can stop weights from being found or fetched, each with the message a user
/// needs to act on it.
public enum HubError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `--weights hf://...` that is not `hf://OWNER/REPO[@REVISION]/FILE`.
    case malformedURI(String, reason: String)
    /// A `--pretrained` tag that open_clip does not list for the model config.
    case unknownPretrainedTag(String, modelConfig: String, known: [String])
    /// `--pretrained` with a model config that has no published weights (a JSON file).
    case noPretrainedWeights(modelConfig: String, builtinConfigs: [String])
    /// A model config that is not built in, with neither `--weights` nor a tag.
    case noWeightsGiven(modelConfig: String, builtinConfigs: [String])
    /// A local `--weights` path that does not exist.
    case localFileMissing(String)
    case repositoryNotFound(repo: String, url: String, status: Int)
    case revisionNotFound(repo: String, revision: String, url: String)
    case fileNotFound(repo: String, revision: String, file: String, url: String)
    /// The hub answered, but not with a file: gated repository, bad token, server error.
    case httpStatus(Int, url: String, message: String)
    /// The hub answered without the headers a download needs (commit, ETag, size).
    case missingMetadata(url: String, header: String)
    /// Nothing cached and the hub not reachable (offline mode, or the network failed).
    case notCached(NotCached)
    /// The downloaded bytes are not the file the hub announced.
    case checksumMismatch(file: String, expected: String, actual: String, algorithm: String)
    case sizeMismatch(file: String, expected: Int64, actual: Int64)
    /// The transfer failed (connection reset, timeout) and could not be resumed.
    case transferFailed(url: String, message: String, bytesOnDisk: Int64, partialFile: String)
    /// The program was asked to stop (SIGINT/SIGTERM) during the download.
    case cancelled(file: String, bytesOnDisk: Int64, partialFile: String)
    case io(String)

    /// Why a file that is not cached could not be fetched, and where it would have gone.
    public struct NotCached: Equatable, Sendable {
        public enum Reason: Equatable, Sendable {
            /// HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set.
            case offlineMode(variable: String)
            /// The caller asked for the cache only (no network at all).
            case cacheOnly
            /// The hub could not be reached.
            case unreachable(endpoint: String, message: String)
        }
        public var repo: String
        public var revision: String
        public var file: String
        public var cacheDirectory: String
        public var snapshotPattern: String
        public var reason: Reason
    }

    public var description: String {
        switch self {
        case let .malformedURI(uri, reason):
            return "malformed weights URI '\(uri)': \(reason); expected hf://OWNER/REPO[@REVISION]/FILE, e.g. hf://timm/vit_base_patch16_plus_clip_240.laion400m_e31/open_clip_model.safetensors"
        case let .unknownPretrainedTag(tag, config, known):
            return "unknown pretrained tag '\(tag)' for \(config); open_clip lists: \(known.joined(separator: ", "))"
        case let .noPretrainedWeights(config, builtin):
            return "model config \(config) has no published weights to choose with --pretrained (tags exist for the built-in configs \(builtin.joined(separator: ", "))): pass --weights FILE or --weights hf://OWNER/REPO/FILE"
        case let .noWeightsGiven(config, builtin):
            return "no weights given for model config \(config): pass --weights FILE (a safetensors checkpoint) or --weights hf://OWNER/REPO[@REVISION]/FILE; weights are fetched automatically only for the built-in configs \(builtin.joined(separator: ", "))"
        case let .localFileMissing(path):
            return "weights file \(path) does not exist (a hub file is written hf://OWNER/REPO[@REVISION]/FILE)"
        case let .repositoryNotFound(repo, url, status):
            return "repository \(repo) not found on the hub (HTTP \(status) for \(url)); check the name, and for a private or gated repository set HF_TOKEN or log in with huggingface_hub"
        case let .revisionNotFound(repo, revision, url):
            return "revision '\(revision)' not found in repository \(repo) (\(url))"
        case let .fileNotFound(repo, revision, file, url):
            return "file \(file) not found in repository \(repo) at revision \(revision) (\(url))"
        case let .httpStatus(status, url, message):
            return "the hub answered HTTP \(status) for \(url)\(message.isEmpty ? "" : ": \(message)")"
        case let .missingMetadata(url, header):
            return "the answer for \(url) has no \(header) header: it does not look like a Hugging Face hub (check HF_ENDPOINT and any proxy)"
        case let .notCached(n):
            let why: String
            switch n.reason {
            case let .offlineMode(variable): why = "offline mode is on (\(variable))"
            case .cacheOnly: why = "only the local cache was searched"
            case let .unreachable(endpoint, message): why = "the hub at \(endpoint) cannot be reached (\(message))"
            }
            return "\(why) and \(n.file) of \(n.repo) (revision \(n.revision)) is not in the cache \(n.cacheDirectory) (it would be at \(n.snapshotPattern)). Seed the cache with `winclip-coord fetch-weights` (here while the hub can be reached, or on another machine whose HF_HUB_CACHE is shared or copied), or copy a cache folder holding the file (its models--* folder) into \(n.cacheDirectory)"
        case let .checksumMismatch(file, expected, actual, algorithm):
            return "download of \(file) refused: its \(algorithm) is \(actual) but the hub announced \(expected) (nothing was placed in the cache; try again)"
        case let .sizeMismatch(file, expected, actual):
            return "download of \(file) refused: \(actual) bytes received, the hub announced \(expected) (nothing was placed in the cache; try again)"
        case let .transferFailed(url, message, bytes, partial):
            return "download from \(url) failed: \(message); \(bytes) bytes are kept in \(partial) and the next attempt resumes from there"
        case let .cancelled(file, bytes, partial):
            return "download of \(file) stopped on request; \(bytes) bytes are kept in \(partial) and the next attempt resumes from there"
        case let .io(message):
            return message
        }
    }
}
