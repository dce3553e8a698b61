import ArgumentParser
import Cluster
import Foundation
import Hub
import Protocol
import WinCLIP

extension WinCLIPCoord {
    struct FetchWeights: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fetch-weights",
            abstract: "Download model weights into the Hugging Face cache and print their path and model fingerprint.",
            discussion: """
            Seeds a machine, or a cache folder shared by a rack (HF_HUB_CACHE), before jobs run: \
            workers and submits then find the weights with no network call. The hub is asked \
            which commit the revision is at (main moves), as huggingface_hub does; with \
            HF_HUB_OFFLINE=1 only the cache is read.

            Weights: --weights FILE or hf://OWNER/REPO[@REVISION]/FILE, else --pretrained TAG, else \
            the model config's default tag. --config reads the model section of cluster.yaml.

            The cache is huggingface_hub's own: HF_HUB_CACHE, else $HF_HOME/hub, else \
            ~/.cache/huggingface/hub; HF_ENDPOINT selects a mirror; HF_TOKEN (or the token file \
            huggingface_hub's login writes) is sent for gated or private repositories.
            """)

        @Option(help: "Cluster config (cluster.yaml): take the model's config, weights and tag from it.")
        var config: String?

        @Option(help: "Model config: a built-in name (ViT-B-16-plus-240, ViT-B-16, ViT-B-32) or an open_clip JSON file.")
        var modelConfig: String?

        @Option(help: "open_clip pretrained tag for a built-in model config (default: the config's default tag).")
        var pretrained: String?

        @Option(help: "Weights: hf://OWNER/REPO[@REVISION]/FILE (or a local file, to print its fingerprint).")
        var weights: String?

        @Flag(help: "Log every step.")
        var verbose = false

        func validate() throws {
            if pretrained != nil && weights != nil { throw ValidationError("give --pretrained TAG or --weights, not both") }
        }

        func run() throws {
            let logger = makeLogger("winclip-coord", verbose: verbose)
            let stop = StopSignal()
            StopSignal.installProcessHandlers(stop)
            do {
                var c = try config.map { try ClusterConfig.load(path: $0) } ?? ClusterConfig()
                if let modelConfig { c.modelConfig = modelConfig }
                if let weights { c.weights = weights; c.pretrained = nil }
                if let pretrained { c.pretrained = pretrained; c.weights = nil }
                let resolved = try ModelLoading.resolveWeights(config: c.modelConfig, pretrained: c.pretrained, weights: c.weights,
                                                               logger: logger, stop: stop, policy: .checkHub)
                let fingerprint = try ModelFingerprint.compute(config: ModelConfig.load(c.modelConfig), weightsPath: resolved.path.path)
                print("weights: \(resolved.path.path)")
                if case let .hub(origin) = resolved.origin {
                    let ref = origin.reference
                    let tag = origin.tag.map { "tag \($0), " } ?? ""
                    print("source: \(ref) at commit \(origin.commit) (\(tag)\(Self.describe(origin.outcome)))")
                }
                print("fingerprint: \(fingerprint)")
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }

        static func describe(_ outcome: HubFetchResult.Outcome) -> String {
            switch outcome {
            case .cached: return "from the cache"
            case .alreadyCurrent: return "already in the cache"
            case let .downloaded(r):
                let size = DownloadProgressDisplay.size(r.size)
                return r.resumedFrom > 0 ? "downloaded \(size), resumed after \(DownloadProgressDisplay.size(r.resumedFrom))" : "downloaded \(size)"
            case let .cachedAfterHubFailure(message): return "from the cache; the hub could not be asked: \(message)"
            }
        }
    }
}
