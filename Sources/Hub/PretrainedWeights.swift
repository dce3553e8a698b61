import Foundation

/// open_clip's published weights for the built-in model configs, as its `pretrained.py`
/// (open_clip 3.3) lists them: tag -> hub repository. Every repository holds the checkpoint as
/// `open_clip_model.safetensors`, which open_clip itself prefers over the pickled `.bin`.
public struct PretrainedWeights: Equatable, Sendable {
    public let modelConfig: String
    public let tag: String
    public let repo: String
    public let file: String
    /// Trained with QuickGELU: open_clip warns when such a tag is loaded into a GELU config
    /// (as the built-in names are), because the numbers are then not the trained model's.
    public let quickGELU: Bool

    public static let defaultFile = "open_clip_model.safetensors"

    /// The tag used when a built-in config is given without `--weights` or `--pretrained`.
    /// ViT-B-16-plus-240 / laion400m_e31 is anomalib's WinCLIP backbone. The other two have no
    /// default in open_clip; these are GELU checkpoints, so they load without open_clip's
    /// QuickGELU warning.
    public static let defaultTags: [String: String] = [
        "ViT-B-16-plus-240": "laion400m_e31",
        "ViT-B-16": "laion400m_e31",
        "ViT-B-32": "laion2b_s34b_b79k",
    ]

    /// Model configs with published weights, in the order the table lists them.
    public static let modelConfigs = ["ViT-B-16-plus-240", "ViT-B-16", "ViT-B-32"]

    public var reference: HubFileReference { HubFileReference(unchecked: repo, revision: HubFileReference.defaultRevision, file: file) }

    /// open_clip's `_clean_tag`: tags are matched lower-cased, with '-' read as '_'.
    public static func cleanTag(_ tag: String) -> String { tag.lowercased().replacingOccurrences(of: "-", with: "_") }

    /// The tags open_clip lists for a config, in its order (empty for a config with none).
    public static func tags(for modelConfig: String) -> [String] {
        table.filter { $0.modelConfig == modelConfig }.map(\.tag)
    }

    /// The weights of `tag` (or the config's default tag) for a built-in config.
    public static func lookup(modelConfig: String, tag: String?) throws -> PretrainedWeights {
        let known = tags(for: modelConfig)
        guard !known.isEmpty, let defaultTag = defaultTags[modelConfig] else {
            throw HubError.noPretrainedWeights(modelConfig: modelConfig, builtinConfigs: modelConfigs)
        }
        let wanted = cleanTag(tag ?? defaultTag)
        guard let entry = table.first(where: { $0.modelConfig == modelConfig && $0.tag == wanted }) else {
            throw HubError.unknownPretrainedTag(tag ?? defaultTag, modelConfig: modelConfig, known: known)
        }
        return entry
    }

    private init(_ modelConfig: String, _ tag: String, _ repo: String, quickGELU: Bool = false) {
        self.modelConfig = modelConfig
        self.tag = tag
        self.repo = repo
        self.file = Self.defaultFile
        self.quickGELU = quickGELU
    }

    /// open_clip 3.3's `_VITB32`, `_VITB16` and `_VITB16_PLUS_240` (`hf_hub` and `quick_gelu`).
    public static let table: [PretrainedWeights] = [
        .init("ViT-B-32", "openai", "timm/vit_base_patch32_clip_224.openai", quickGELU: true),
        .init("ViT-B-32", "laion400m_e31", "timm/vit_base_patch32_clip_224.laion400m_e31", quickGELU: true),
        .init("ViT-B-32", "laion400m_e32", "timm/vit_base_patch32_clip_224.laion400m_e32", quickGELU: true),
        .init("ViT-B-32", "laion2b_e16", "timm/vit_base_patch32_clip_224.laion2b_e16"),
        .init("ViT-B-32", "laion2b_s34b_b79k", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"),
        .init("ViT-B-32", "datacomp_xl_s13b_b90k", "laion/CLIP-ViT-B-32-DataComp.XL-s13B-b90K"),
        .init("ViT-B-32", "datacomp_m_s128m_b4k", "laion/CLIP-ViT-B-32-DataComp.M-s128M-b4K"),
        .init("ViT-B-32", "commonpool_m_clip_s128m_b4k", "laion/CLIP-ViT-B-32-CommonPool.M.clip-s128M-b4K"),
        .init("ViT-B-32", "commonpool_m_laion_s128m_b4k", "laion/CLIP-ViT-B-32-CommonPool.M.laion-s128M-b4K"),
        .init("ViT-B-32", "commonpool_m_image_s128m_b4k", "laion/CLIP-ViT-B-32-CommonPool.M.image-s128M-b4K"),
        .init("ViT-B-32", "commonpool_m_text_s128m_b4k", "laion/CLIP-ViT-B-32-CommonPool.M.text-s128M-b4K"),
        .init("ViT-B-32", "commonpool_m_basic_s128m_b4k", "laion/CLIP-ViT-B-32-CommonPool.M.basic-s128M-b4K"),
        .init("ViT-B-32", "commonpool_m_s128m_b4k", "laion/CLIP-ViT-B-32-CommonPool.M-s128M-b4K"),
        .init("ViT-B-32", "datacomp_s_s13m_b4k", "laion/CLIP-ViT-B-32-DataComp.S-s13M-b4K"),
        .init("ViT-B-32", "commonpool_s_clip_s13m_b4k", "laion/CLIP-ViT-B-32-CommonPool.S.clip-s13M-b4K"),
        .init("ViT-B-32", "commonpool_s_laion_s13m_b4k", "laion/CLIP-ViT-B-32-CommonPool.S.laion-s13M-b4K"),
        .init("ViT-B-32", "commonpool_s_image_s13m_b4k", "laion/CLIP-ViT-B-32-CommonPool.S.image-s13M-b4K"),
        .init("ViT-B-32", "commonpool_s_text_s13m_b4k", "laion/CLIP-ViT-B-32-CommonPool.S.text-s13M-b4K"),
        .init("ViT-B-32", "commonpool_s_basic_s13m_b4k", "laion/CLIP-ViT-B-32-CommonPool.S.basic-s13M-b4K"),
        .init("ViT-B-32", "commonpool_s_s13m_b4k", "laion/CLIP-ViT-B-32-CommonPool.S-s13M-b4K"),
        .init("ViT-B-32", "metaclip_400m", "timm/vit_base_patch32_clip_224.metaclip_400m", quickGELU: true),
        .init("ViT-B-32", "metaclip_fullcc", "timm/vit_base_patch32_clip_224.metaclip_2pt5b", quickGELU: true),

        .init("ViT-B-16", "openai", "timm/vit_base_patch16_clip_224.openai", quickGELU: true),
        .init("ViT-B-16", "laion400m_e31", "timm/vit_base_patch16_clip_224.laion400m_e31"),
        .init("ViT-B-16", "laion400m_e32", "timm/vit_base_patch16_clip_224.laion400m_e32"),
        .init("ViT-B-16", "laion2b_s34b_b88k", "laion/CLIP-ViT-B-16-laion2B-s34B-b88K"),
        .init("ViT-B-16", "datacomp_xl_s13b_b90k", "laion/CLIP-ViT-B-16-DataComp.XL-s13B-b90K"),
        .init("ViT-B-16", "datacomp_l_s1b_b8k", "laion/CLIP-ViT-B-16-DataComp.L-s1B-b8K"),
        .init("ViT-B-16", "commonpool_l_clip_s1b_b8k", "laion/CLIP-ViT-B-16-CommonPool.L.clip-s1B-b8K"),
        .init("ViT-B-16", "commonpool_l_laion_s1b_b8k", "laion/CLIP-ViT-B-16-CommonPool.L.laion-s1B-b8K"),
        .init("ViT-B-16", "commonpool_l_image_s1b_b8k", "laion/CLIP-ViT-B-16-CommonPool.L.image-s1B-b8K"),
        .init("ViT-B-16", "commonpool_l_text_s1b_b8k", "laion/CLIP-ViT-B-16-CommonPool.L.text-s1B-b8K"),
        .init("ViT-B-16", "commonpool_l_basic_s1b_b8k", "laion/CLIP-ViT-B-16-CommonPool.L.basic-s1B-b8K"),
        .init("ViT-B-16", "commonpool_l_s1b_b8k", "laion/CLIP-ViT-B-16-CommonPool.L-s1B-b8K"),
        .init("ViT-B-16", "dfn2b", "apple/DFN2B-CLIP-ViT-B-16", quickGELU: true),
        .init("ViT-B-16", "metaclip_400m", "timm/vit_base_patch16_clip_224.metaclip_400m", quickGELU: true),
        .init("ViT-B-16", "metaclip_fullcc", "timm/vit_base_patch16_clip_224.metaclip_2pt5b", quickGELU: true),

        .init("ViT-B-16-plus-240", "laion400m_e31", "timm/vit_base_patch16_plus_clip_240.laion400m_e31"),
        // open_clip 3.3 points this tag at the e31 repository too (its table, copied as is, so
        // that a tag loads here what it loads in open_clip).
        .init("ViT-B-16-plus-240", "laion400m_e32", "timm/vit_base_patch16_plus_clip_240.laion400m_e31"),
    ]
}
