import Foundation

public struct ModelConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An open_clip model config (the JSON schema of open_clip's `model_configs/*.json`), limited
/// to what this engine implements: ViT image tower with class-token pooling, transformer text
/// tower with argmax (end-token) pooling.
public struct ModelConfig: Equatable, Sendable {
    public struct Vision: Equatable, Sendable {
        public var imageSize: Int
        public var layers: Int
        public var width: Int
        public var patchSize: Int
        public var headWidth: Int = 64
        public var mlpRatio: Double = 4.0
        public var layerScaleInit: Double? = nil
        public var heads: Int { width / headWidth }
        public var mlpWidth: Int { Int(Double(width) * mlpRatio) }
        public var gridSize: Int { imageSize / patchSize }
        /// Class token + one token per patch.
        public var tokens: Int { gridSize * gridSize + 1 }
    }

    public struct Text: Equatable, Sendable {
        public var contextLength: Int = 77
        public var vocabSize: Int = 49408
        public var width: Int = 512
        public var heads: Int = 8
        public var layers: Int = 12
        public var mlpRatio: Double = 4.0
        public var layerScaleInit: Double? = nil
        public var mlpWidth: Int { Int(Double(width) * mlpRatio) }
    }

    public var name: String
    public var embedDim: Int
    public var quickGELU: Bool
    public var vision: Vision
    public var text: Text

    /// open_clip's configs that ship with the engine, by their open_clip names.
    public static let builtinNames = ["ViT-B-16-plus-240", "ViT-B-16", "ViT-B-32"]
    public static let defaultName = "ViT-B-16-plus-240"

    /// A built-in name, or a path to an open_clip JSON config.
    public static func load(_ nameOrPath: String) throws -> ModelConfig {
        if let json = BuiltinModelConfigs.json[nameOrPath] {
            return try parse(json: Data(json.utf8), name: nameOrPath)
        }
        let url = URL(fileURLWithPath: nameOrPath)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ModelConfigError("unknown model config '\(nameOrPath)': not a built-in name (\(builtinNames.joined(separator: ", "))) and no such file")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelConfigError("cannot read model config \(nameOrPath): \(error.localizedDescription)")
        }
        return try parse(json: data, name: url.deletingPathExtension().lastPathComponent)
    }

    public static func parse(json: Data, name: String) throws -> ModelConfig {
        guard let top = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else {
            throw ModelConfigError("model config \(name) is not a JSON object")
        }
        guard let vcfg = top["vision_cfg"] as? [String: Any] else { throw ModelConfigError("model config \(name) has no vision_cfg") }
        guard let tcfg = top["text_cfg"] as? [String: Any] else { throw ModelConfigError("model config \(name) has no text_cfg") }
        guard let embedDim = int(top["embed_dim"]) else { throw ModelConfigError("model config \(name) has no integer embed_dim") }

        // What open_clip can build but this engine does not implement: refuse by name.
        func refuse(_ section: String, _ cfg: [String: Any], _ key: String, unless ok: (Any) -> Bool) throws {
            if let v = cfg[key], !(v is NSNull), !ok(v) {
                throw ModelConfigError("model config \(name): \(section).\(key) = \(v) is not supported (this engine implements open_clip's ViT image tower with class-token pooling and the transformer text tower with end-token pooling)")
            }
        }
        let isFalse: (Any) -> Bool = { ($0 as? Bool) == false || ($0 as? NSNumber)?.intValue == 0 }
        let isZero: (Any) -> Bool = { ($0 as? NSNumber)?.doubleValue == 0 }
        for key in ["timm_model_name", "hf_model_name"] {
            if let v = vcfg[key], !(v is NSNull) { throw ModelConfigError("model config \(name): vision_cfg.\(key) (\(v)) is a timm/HF tower; only open_clip's own ViT is supported") }
            if let v = tcfg[key], !(v is NSNull) { throw ModelConfigError("model config \(name): text_cfg.\(key) (\(v)) is an HF text tower; only open_clip's own text transformer is supported") }
        }
        for key in ["attentional_pool", "no_ln_pre", "final_ln_after_pool", "qk_norm", "scaled_cosine_attn", "scale_heads", "scale_attn_inner", "scale_attn", "scale_fc", "global_average_pool"] {
            try refuse("vision_cfg", vcfg, key, unless: isFalse)
        }
        try refuse("vision_cfg", vcfg, "patch_dropout", unless: isZero)
        try refuse("vision_cfg", vcfg, "pool_type", unless: { ($0 as? String) == "tok" })
        try refuse("vision_cfg", vcfg, "pos_embed_type", unless: { ($0 as? String) == "learnable" })
        try refuse("vision_cfg", vcfg, "block_type", unless: { ($0 as? String) == "default" })
        for key in ["embed_cls", "no_causal_mask", "final_ln_after_pool", "proj_bias", "qk_norm", "scaled_cosine_attn", "scale_heads", "scale_attn_inner", "scale_attn", "scale_fc"] {
            try refuse("text_cfg", tcfg, key, unless: isFalse)
        }
        try refuse("text_cfg", tcfg, "pool_type", unless: { ($0 as? String) == "argmax" })
        try refuse("text_cfg", tcfg, "proj_type", unless: { ($0 as? String) == "linear" })
        try refuse("text_cfg", tcfg, "block_type", unless: { ($0 as? String) == "default" })
        for key in ["act_kwargs", "norm_kwargs"] {
            try refuse("vision_cfg", vcfg, key, unless: { ($0 as? [String: Any])?.isEmpty == true })
            try refuse("text_cfg", tcfg, key, unless: { ($0 as? [String: Any])?.isEmpty == true })
        }
        if let tok = tcfg["hf_tokenizer_name"], !(tok is NSNull) {
            throw ModelConfigError("model config \(name): text_cfg.hf_tokenizer_name (\(tok)) is not supported; only open_clip's CLIP BPE tokenizer is")
        }

        guard let layers = int(vcfg["layers"]) else { throw ModelConfigError("model config \(name): vision_cfg.layers must be an integer (a list means a ResNet tower, which is not supported)") }
        guard let width = int(vcfg["width"]), let patch = int(vcfg["patch_size"]) else {
            throw ModelConfigError("model config \(name): vision_cfg needs integer width and patch_size")
        }
        guard let imageSize = int(vcfg["image_size"]) else { throw ModelConfigError("model config \(name): vision_cfg.image_size must be one integer (square input)") }
        var vision = Vision(imageSize: imageSize, layers: layers, width: width, patchSize: patch)
        if let hw = int(vcfg["head_width"]) { vision.headWidth = hw }
        if let r = double(vcfg["mlp_ratio"]) { vision.mlpRatio = r }
        vision.layerScaleInit = double(vcfg["ls_init_value"])
        guard vision.headWidth > 0, vision.width % vision.headWidth == 0 else {
            throw ModelConfigError("model config \(name): vision width \(width) is not a multiple of head_width \(vision.headWidth)")
        }
        guard patch > 0, imageSize >= patch else { throw ModelConfigError("model config \(name): image_size \(imageSize) is smaller than patch_size \(patch)") }

        var text = Text()
        if let v = int(tcfg["context_length"]) { text.contextLength = v }
        if let v = int(tcfg["vocab_size"]) { text.vocabSize = v }
        if let v = int(tcfg["width"]) { text.width = v }
        if let v = int(tcfg["heads"]) { text.heads = v }
        if let v = int(tcfg["layers"]) { text.layers = v }
        if let v = double(tcfg["mlp_ratio"]) { text.mlpRatio = v }
        text.layerScaleInit = double(tcfg["ls_init_value"])
        guard text.heads > 0, text.width % text.heads == 0 else {
            throw ModelConfigError("model config \(name): text width \(text.width) is not a multiple of heads \(text.heads)")
        }
        let quick = (top["quick_gelu"] as? Bool) ?? false
        return ModelConfig(name: name, embedDim: embedDim, quickGELU: quick, vision: vision, text: text)
    }

    private static func int(_ v: Any?) -> Int? {
        guard let n = v as? NSNumber else { return nil }
        let d = n.doubleValue
        return d == d.rounded() ? Int(d) : nil
    }
    private static func double(_ v: Any?) -> Double? { (v as? NSNumber)?.doubleValue }
}

/// Copies of open_clip's `model_configs/*.json` for the backbones shipped by name.
enum BuiltinModelConfigs {
    static let json: [String: String] = [
        "ViT-B-16-plus-240": """
        {"embed_dim": 640,
         "vision_cfg": {"image_size": 240, "layers": 12, "width": 896, "patch_size": 16},
         "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 640, "heads": 10, "layers": 12}}
        """,
        "ViT-B-16": """
        {"embed_dim": 512,
         "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 16},
         "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12}}
        """,
        "ViT-B-32": """
        {"embed_dim": 512,
         "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32},
         "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12}}
        """,
    ]
}
