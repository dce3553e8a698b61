import Foundation

public struct WeightsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public struct LayerNormWeights: Sendable {
    public let weight: [Float]  // [width]
    public let bias: [Float]    // [width]
}

/// A PyTorch `nn.Linear`: weight [outFeatures, inFeatures], y = x W^T + b.
public struct LinearWeights: Sendable {
    public let weight: [Float]
    public let bias: [Float]
    public let outFeatures: Int
    public let inFeatures: Int
    /// Backend-specific forms of `weight` (bf16 for oneDNN), made on first use.
    public let prepared = PreparedWeights()

    public init(weight: [Float], bias: [Float], outFeatures: Int, inFeatures: Int) {
        precondition(weight.count == outFeatures * inFeatures && bias.count == outFeatures, "linear weights must be [\(outFeatures), \(inFeatures)] and [\(outFeatures)]")
        self.weight = weight
        self.bias = bias
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
    }
}

/// One open_clip `ResidualAttentionBlock`.
public struct ResidualBlockWeights: Sendable {
    public let ln1: LayerNormWeights
    public let attnIn: LinearWeights   // in_proj: [3 width, width]
    public let attnOut: LinearWeights  // out_proj: [width, width]
    public let ls1: [Float]?           // LayerScale gamma, when the config has ls_init_value
    public let ln2: LayerNormWeights
    public let fc: LinearWeights       // mlp.c_fc: [mlp, width]
    public let proj: LinearWeights     // mlp.c_proj: [width, mlp]
    public let ls2: [Float]?
}

public struct VisionWeights: Sendable {
    public let patchEmbedding: [Float]      // conv1.weight [width, 3, patch, patch] = [width, 3 patch^2]
    public let classEmbedding: [Float]      // [width]
    public let positionalEmbedding: [Float] // [grid^2 + 1, width]
    public let lnPre: LayerNormWeights
    public let blocks: [ResidualBlockWeights]
    public let lnPost: LayerNormWeights
    public let projection: [Float]          // proj [width, embed]
}

public struct TextWeights: Sendable {
    public let tokenEmbedding: [Float]      // [vocab, width]
    public let positionalEmbedding: [Float] // [context, width]
    public let blocks: [ResidualBlockWeights]
    public let lnFinal: LayerNormWeights
    public let projection: [Float]          // text_projection [width, embed]
}

/// All weights of an open_clip CLIP model, looked up once by their state-dict names and
/// checked against the shapes the config implies.
public struct CLIPWeights: Sendable {
    public let vision: VisionWeights
    public let text: TextWeights
    public let logitScale: Float?

    public init(vision: VisionWeights, text: TextWeights, logitScale: Float?) {
        self.vision = vision
        self.text = text
        self.logitScale = logitScale
    }

    /// Reads `path` (safetensors, open_clip names as in the hub's `open_clip_model.safetensors`;
    /// a `module.` prefix left by distributed training is accepted).
    public init(path: String, config: ModelConfig) throws {
        let file = try SafeTensorsFile(path: path)
        try self.init(file: file, config: config)
    }

    public init(file: SafeTensorsFile, config: ModelConfig) throws {
        let reader = TensorReader(file: file)
        let v = config.vision, t = config.text
        func layerNorm(_ prefix: String, _ width: Int) throws -> LayerNormWeights {
            LayerNormWeights(weight: try reader.tensor("\(prefix).weight", [width]), bias: try reader.tensor("\(prefix).bias", [width]))
        }
        func linear(_ prefix: String, out: Int, in inFeatures: Int, weightName: String = "weight", biasName: String = "bias") throws -> LinearWeights {
            LinearWeights(
                weight: try reader.tensor("\(prefix).\(weightName)", [out, inFeatures]),
                bias: try reader.tensor("\(prefix).\(biasName)", [out]), outFeatures: out, inFeatures: inFeatures)
        }
        func blocks(_ prefix: String, layers: Int, width: Int, mlp: Int, layerScale: Bool) throws -> [ResidualBlockWeights] {
            try (0..<layers).map { i in
                let p = "\(prefix).resblocks.\(i)"
                return ResidualBlockWeights(
                    ln1: try layerNorm("\(p).ln_1", width),
                    attnIn: try linear("\(p).attn", out: 3 * width, in: width, weightName: "in_proj_weight", biasName: "in_proj_bias"),
                    attnOut: try linear("\(p).attn.out_proj", out: width, in: width),
                    ls1: layerScale ? try reader.tensor("\(p).ls_1.gamma", [width]) : nil,
                    ln2: try layerNorm("\(p).ln_2", width),
                    fc: try linear("\(p).mlp.c_fc", out: mlp, in: width),
                    proj: try linear("\(p).mlp.c_proj", out: width, in: mlp),
                    ls2: layerScale ? try reader.tensor("\(p).ls_2.gamma", [width]) : nil)
            }
        }
        vision = VisionWeights(
            patchEmbedding: try reader.tensor("visual.conv1.weight", [v.width, 3, v.patchSize, v.patchSize]),
            classEmbedding: try reader.tensor("visual.class_embedding", [v.width]),
            positionalEmbedding: try reader.tensor("visual.positional_embedding", [v.tokens, v.width]),
            lnPre: try layerNorm("visual.ln_pre", v.width),
            blocks: try blocks("visual.transformer", layers: v.layers, width: v.width, mlp: v.mlpWidth, layerScale: v.layerScaleInit != nil),
            lnPost: try layerNorm("visual.ln_post", v.width),
            projection: try reader.tensor("visual.proj", [v.width, config.embedDim]))
        text = TextWeights(
            tokenEmbedding: try reader.tensor("token_embedding.weight", [t.vocabSize, t.width]),
            positionalEmbedding: try reader.tensor("positional_embedding", [t.contextLength, t.width]),
            blocks: try blocks("transformer", layers: t.layers, width: t.width, mlp: t.mlpWidth, layerScale: t.layerScaleInit != nil),
            lnFinal: try layerNorm("ln_final", t.width),
            projection: try reader.tensor("text_projection", [t.width, config.embedDim]))
        logitScale = try? reader.tensor("logit_scale", []).first
    }
}

/// Looks tensors up by checkpoint name and checks their shapes.
struct TensorReader {
    let file: SafeTensorsFile
    let prefix: String

    init(file: SafeTensorsFile) {
        self.file = file
        let hasModulePrefix = file.tensors["visual.class_embedding"] == nil && file.tensors["module.visual.class_embedding"] != nil
        prefix = hasModulePrefix ? "module." : ""
    }

    func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
        guard let info = file.tensors[prefix + name] else {
            throw WeightsError("\(file.path): missing tensor '\(name)' (expected shape \(shape)); is this an open_clip checkpoint of the configured model?")
        }
        // A 0-d scalar may be stored as [] or [1].
        let sameShape = info.shape == shape || (shape.isEmpty && info.shape == [1])
        guard sameShape else {
            throw WeightsError("\(file.path): tensor '\(name)' has shape \(info.shape) but the model config needs \(shape); the weights belong to another model config")
        }
        let values = file.floats(info)
        return values
    }
}
