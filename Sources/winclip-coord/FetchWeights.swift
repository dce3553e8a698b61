import ArgumentParser
import CLI
import Configuration
import Foundation
import Hub
import Transport
import WinCLIP
import Worker

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

        @OptionGroup var model: ModelFlags

        @Flag(help: "Log every step.")
        var verbose = false

        func validate() throws {
            if model.pretrained != nil && model.weights != nil { throw ValidationError("give --pretrained TAG or --weights, not both") }
        }

        func run() throws {
            let logger = makeLogger("winclip-coord", verbose: verbose)
            let stop = StopSignal()
            stop.installProcessHandlers()
            do {
                var c = try config.map { try ClusterConfig.load(path: $0) } ?? ClusterConfig()
                model.apply(to: &c)
                if model.weights != nil { c.model.pretrained = nil }
                if model.pretrained != nil { c.model.weights = nil }
                let resolved = try ModelLoading.resolveWeights(config: c.model.config, pretrained: c.model.pretrained, weights: c.model.weights,
                                                               logger: logger, stop: stop, policy: .checkHub)
                let fingerprint = try ModelFingerprint.compute(config: ModelConfig.load(c.model.config), weightsPath: resolved.path.path)
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
