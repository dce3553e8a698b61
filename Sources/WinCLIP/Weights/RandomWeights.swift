import Foundation

extension CLIPWeights {
    /// Random weights of the right shapes for `config`, for benchmarks and smoke tests.
    /// Values are uniform with variance 1/fan_in so activations stay in a normal range.
    public static func random(config: ModelConfig, seed: UInt64 = 1) -> CLIPWeights {
        var rng = SplitMix64(seed: seed)
        func uniform(_ count: Int, fanIn: Int) -> [Float] {
            let a = Float((3.0 / Double(max(fanIn, 1))).squareRoot())
            return (0..<count).map { _ in a * (2 * rng.nextUnitFloat() - 1) }
        }
        func ln(_ w: Int) -> LayerNormWeights {
            LayerNormWeights(weight: uniform(w, fanIn: 1).map { 1 + 0.1 * $0 }, bias: uniform(w, fanIn: 100))
        }
        func linear(out: Int, in n: Int) -> LinearWeights {
            LinearWeights(weight: uniform(out * n, fanIn: n), bias: uniform(out, fanIn: n), outFeatures: out, inFeatures: n)
        }
        func blocks(_ layers: Int, width w: Int, mlp: Int, layerScale: Bool) -> [ResidualBlockWeights] {
            (0..<layers).map { _ in
                ResidualBlockWeights(
                    ln1: ln(w), attnIn: linear(out: 3 * w, in: w), attnOut: linear(out: w, in: w),
                    ls1: layerScale ? uniform(w, fanIn: 1) : nil, ln2: ln(w),
                    fc: linear(out: mlp, in: w), proj: linear(out: w, in: mlp), ls2: layerScale ? uniform(w, fanIn: 1) : nil)
            }
        }
        let v = config.vision, t = config.text, e = config.embedDim
        let vision = VisionWeights(
            patchEmbedding: uniform(v.width * 3 * v.patchSize * v.patchSize, fanIn: 3 * v.patchSize * v.patchSize),
            classEmbedding: uniform(v.width, fanIn: v.width), positionalEmbedding: uniform(v.tokens * v.width, fanIn: v.width),
            lnPre: ln(v.width), blocks: blocks(v.layers, width: v.width, mlp: v.mlpWidth, layerScale: v.layerScaleInit != nil),
            lnPost: ln(v.width), projection: uniform(v.width * e, fanIn: v.width))
        let text = TextWeights(
            tokenEmbedding: uniform(t.vocabSize * t.width, fanIn: t.width), positionalEmbedding: uniform(t.contextLength * t.width, fanIn: t.width),
            blocks: blocks(t.layers, width: t.width, mlp: t.mlpWidth, layerScale: t.layerScaleInit != nil),
            lnFinal: ln(t.width), projection: uniform(t.width * e, fanIn: t.width))
        return CLIPWeights(vision: vision, text: text, logitScale: nil)
    }
}

/// A small, fast, reproducible generator (Steele et al.'s SplitMix64).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextUnitFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
