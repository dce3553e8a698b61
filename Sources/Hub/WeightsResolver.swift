import Foundation

/// Weights found on this machine, and how.
public struct ResolvedWeights: Equatable, Sendable {
    /// A readable local file (for a hub file: snapshots/<commit>/<file> in the cache).
    public var path: URL
    public var origin: Origin
    /// Things the user should know (QuickGELU mismatch, --pretrained ignored for --weights).
    public var notes: [String]

    public enum Origin: Equatable, Sendable {
        /// `--weights FILE`.
        case localFile
        /// A hub file: from `--weights hf://...`, or a pretrained tag (`tag` set).
        case hub(HubOrigin)
    }

    public struct HubOrigin: Equatable, Sendable {
        public var reference: HubFileReference
        public var commit: String
        public var tag: String?
        public var outcome: HubFetchResult.Outcome
    }

    /// One line for logs: the file and where it came from.
    public var summary: String {
        switch origin {
        case .localFile:
            return "weights \(path.path)"
        case let .hub(h):
            let how: String
            switch h.outcome {
            case .cached: how = "cached"
            case .alreadyCurrent: how = "cached, current on the hub"
            case let .downloaded(r): how = r.resumedFrom > 0 ? "downloaded, resumed after \(r.resumedFrom) bytes" : "downloaded"
            case let .cachedAfterHubFailure(m): how = "cached; hub not asked: \(m)"
            }
            return "weights \(h.tag.map { "'\($0)' " } ?? "")\(h.reference) at commit \(h.commit) (\(how)): \(path.path)"
        }
    }
}

/// The one entry point for "which weights file does this model use": `--weights` (a path or
/// `hf://...`), else `--pretrained TAG`, else the built-in config's default tag.
public enum WeightsResolver {
    /// - modelConfig: a built-in name (ViT-B-16-plus-240, ViT-B-16, ViT-B-32) or a JSON path.
    /// - pretrained: an open_clip tag for a built-in config (`laion400m_e31`).
    /// - weights: a local file or `hf://OWNER/REPO[@REVISION]/FILE`; wins over `pretrained`.
    /// - environment: HF_* variables (`ProcessInfo.processInfo.environment` in the programs).
    /// - policy: `.preferCache` for jobs; `.checkHub` to refresh; `.cacheOnly` for no network.
    /// - isCancelled: polled during a download (stops it, keeping the bytes for a resume).
    public static func resolve(modelConfig: String, pretrained: String?, weights: String?,
                               environment: [String: String], policy: HubDownloader.Policy = .preferCache,
                               progress: HubProgressHandler? = nil, isCancelled: (@Sendable () -> Bool)? = nil) throws -> ResolvedWeights {
        var notes: [String] = []
        let reference: HubFileReference
        var tag: String?
        if let weights {
            if let pretrained { notes.append("--weights \(weights) is used; --pretrained \(pretrained) is ignored") }
            switch try WeightsSource.parse(weights) {
            case let .localFile(path):
                guard FileManager.default.fileExists(atPath: path) else { throw HubError.localFileMissing(path) }
                return ResolvedWeights(path: URL(fileURLWithPath: path), origin: .localFile, notes: notes)
            case let .hub(ref):
                reference = ref
            }
        } else {
            guard PretrainedWeights.defaultTags[modelConfig] != nil else {
                if pretrained != nil {
                    throw HubError.noPretrainedWeights(modelConfig: modelConfig, builtinConfigs: PretrainedWeights.modelConfigs)
                }
                throw HubError.noWeightsGiven(modelConfig: modelConfig, builtinConfigs: PretrainedWeights.modelConfigs)
            }
            let entry = try PretrainedWeights.lookup(modelConfig: modelConfig, tag: pretrained)
            if entry.quickGELU {
                notes.append("'\(entry.tag)' was trained with QuickGELU but \(modelConfig) uses GELU (open_clip warns the same; its \(modelConfig)-quickgelu config is not built in)")
            }
            reference = entry.reference
            tag = entry.tag
        }
        let downloader = HubDownloader(settings: HubSettings(environment: environment))
        let result = try downloader.fetch(reference, policy: policy, progress: progress, isCancelled: isCancelled)
        return ResolvedWeights(path: result.path, origin: .hub(.init(reference: reference, commit: result.commit, tag: tag, outcome: result.outcome)),
                               notes: notes)
    }
}
