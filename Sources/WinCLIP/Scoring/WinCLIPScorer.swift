import Foundation

public struct WinCLIPOptions: Sendable, Equatable {
    /// Window sizes in patches (anomalib's default: 2 and 3).
    public var scales: [Int] = [2, 3]
    /// CLIP's softmax temperature used by WinCLIP.
    public var temperature: Float = 0.07
    public var windowAttention: WindowAttention = .acrossWindows
    public init(scales: [Int] = [2, 3], temperature: Float = 0.07, windowAttention: WindowAttention = .acrossWindows) {
        self.scales = scales
        self.temperature = temperature
        self.windowAttention = windowAttention
    }
}

/// WinCLIP on one CLIP model: text setup, reference setup, the worker's half (embeddings to
/// window scores) and, through `ScoreAssembler`, the coordinator's half.
public final class WinCLIPScorer: @unchecked Sendable {
    public let model: CLIPModel
    public let options: WinCLIPOptions
    public let windowEncoders: [WindowEncoder]
    public let assembler: ScoreAssembler
    let tokenizer: SimpleTokenizer
    private let lock = NSLock()
    private var textCache: [String: TextEmbeddings] = [:]

    public init(model: CLIPModel, options: WinCLIPOptions = WinCLIPOptions(), tokenizer: SimpleTokenizer? = nil) throws {
        self.model = model
        self.options = options
        let grid = model.config.vision.gridSize
        windowEncoders = try options.scales.map {
            WindowEncoder(vision: model.vision, masks: try WindowMasks(gridSize: grid, kernelSize: $0), attention: options.windowAttention)
        }
        assembler = try ScoreAssembler(gridSize: grid, imageSize: model.config.vision.imageSize, scales: options.scales)
        self.tokenizer = try tokenizer ?? SimpleTokenizer()
    }

    // MARK: - Setup

    /// The normal and anomalous text embeddings for a class name, computed once and cached.
    public func textEmbeddings(className: String, gemm: MatMulBackend) throws -> TextEmbeddings {
        lock.lock()
        if let cached = textCache[className] { lock.unlock(); return cached }
        lock.unlock()
        let (normal, anomalous) = PromptEnsemble.prompts(className: className)
        let context = model.config.text.contextLength
        let ids = (normal + anomalous).map { tokenizer.tokenize($0, contextLength: context) }
        let all = try model.text.encode(tokenIDs: ids, gemm: gemm)
        let e = model.config.embedDim
        func mean(_ rows: Range<Int>) -> [Float] {
            var sum = [Double](repeating: 0, count: e)
            for r in rows { for c in 0..<e { sum[c] += Double(all[r * e + c]) } }
            return sum.map { Float($0 / Double(rows.count)) }
        }
        let result = TextEmbeddings(normal: mean(0..<normal.count), anomalous: mean(normal.count..<(normal.count + anomalous.count)))
        lock.lock(); textCache[className] = result; lock.unlock()
        return result
    }

    /// Few-shot references from K preprocessed images [K, 3, S, S], encoded together as
    /// anomalib's setup does.
    public func referenceEmbeddings(pixels: [Float], count k: Int, gemm: MatMulBackend) -> ReferenceEmbeddings {
        let tokens = model.vision.embedTokens(pixels: pixels, count: k, gemm: gemm)
        let full = model.vision.encodeSequences(tokens, batch: .uniform(count: k, length: model.config.vision.tokens), keepTokens: true, gemm: gemm)
        let patchTokens = Self.patchTokens(full.tokens!, images: k, tokens: model.config.vision.tokens, width: model.config.vision.width)
        let windows = windowEncoders.map { $0.encode(tokens: tokens, images: k, gemm: gemm) }
        return ReferenceEmbeddings(
            count: k,
            patchTokens: Similarity.normalizedRows(patchTokens, width: model.config.vision.width),
            windows: windows.map { Similarity.normalizedRows($0, width: model.config.embedDim) })
    }

    // MARK: - Worker half

    /// One preprocessed image [3, S, S] through the full pass and every scale's windows.
    public func embed(pixels: [Float], gemm: MatMulBackend) -> ImageEmbeddings {
        let v = model.config.vision
        let tokens = model.vision.embedTokens(pixels: pixels, count: 1, gemm: gemm)
        let full = model.vision.encodeSequences(tokens, batch: .uniform(count: 1, length: v.tokens), keepTokens: true, gemm: gemm)
        let windows = windowEncoders.map { $0.encode(tokens: tokens, images: 1, gemm: gemm) }
        return ImageEmbeddings(image: full.embeddings, patchTokens: Self.patchTokens(full.tokens!, images: 1, tokens: v.tokens, width: v.width), windows: windows)
    }

    /// Embeddings to per-window scores.
    public func windowScores(_ emb: ImageEmbeddings, text: TextEmbeddings, references: ReferenceEmbeddings?, gemm: MatMulBackend) -> ImageWindowScores {
        let e = model.config.embedDim, w = model.config.vision.width, t = options.temperature
        let imageScore = Similarity.anomalousClassScores(emb.image, width: e, text: text, temperature: t)[0]
        let zeroShot = emb.windows.map { Similarity.anomalousClassScores($0, width: e, text: text, temperature: t) }
        guard let references else {
            return ImageWindowScores(imageScore: imageScore, zeroShot: zeroShot, fewShotPatches: nil, fewShot: nil)
        }
        let patches = Similarity.visualAssociation(emb.patchTokens, width: w, normalizedReferences: references.patchTokens, gemm: gemm)
        let few = zip(emb.windows, references.windows).map {
            Similarity.visualAssociation($0.0, width: e, normalizedReferences: $0.1, gemm: gemm)
        }
        return ImageWindowScores(imageScore: imageScore, zeroShot: zeroShot, fewShotPatches: patches, fewShot: few)
    }

    // MARK: - Work units (the cluster splits an image into these)

    /// The full-image pass of one image [3, S, S]: its zero-shot image score and, few-shot, the
    /// visual association of every patch token [G^2].
    public func fullPassScores(pixels: [Float], text: TextEmbeddings, references: ReferenceEmbeddings?, gemm: MatMulBackend) -> (imageScore: Float, fewShotPatches: [Float]?) {
        let v = model.config.vision
        let tokens = model.vision.embedTokens(pixels: pixels, count: 1, gemm: gemm)
        let full = model.vision.encodeSequences(tokens, batch: .uniform(count: 1, length: v.tokens), keepTokens: references != nil, gemm: gemm)
        let imageScore = Similarity.anomalousClassScores(full.embeddings, width: model.config.embedDim, text: text, temperature: options.temperature)[0]
        guard let references else { return (imageScore, nil) }
        let patches = Self.patchTokens(full.tokens!, images: 1, tokens: v.tokens, width: v.width)
        return (imageScore, Similarity.visualAssociation(patches, width: v.width, normalizedReferences: references.patchTokens, gemm: gemm))
    }

    /// A range of one scale's windows of one image: zero-shot class scores and, few-shot,
    /// visual association scores, one per window. With `.acrossWindows` attention only the
    /// full range equals anomalib (the windows attend to each other).
    public func windowPassScores(pixels: [Float], scaleIndex: Int, windows: Range<Int>, text: TextEmbeddings, references: ReferenceEmbeddings?, gemm: MatMulBackend) -> (zeroShot: [Float], fewShot: [Float]?) {
        let e = model.config.embedDim
        let tokens = model.vision.embedTokens(pixels: pixels, count: 1, gemm: gemm)
        let emb = windowEncoders[scaleIndex].encode(tokens: tokens, images: 1, windows: windows, gemm: gemm)
        let zero = Similarity.anomalousClassScores(emb, width: e, text: text, temperature: options.temperature)
        guard let references else { return (zero, nil) }
        return (zero, Similarity.visualAssociation(emb, width: e, normalizedReferences: references.windows[scaleIndex], gemm: gemm))
    }

    /// Everything for one image in process: score and map as anomalib's `WinClipModel`.
    public func score(pixels: [Float], text: TextEmbeddings, references: ReferenceEmbeddings?, gemm: MatMulBackend) -> AnomalyResult {
        assembler.assemble(windowScores(embed(pixels: pixels, gemm: gemm), text: text, references: references, gemm: gemm))
    }

    static func patchTokens(_ all: [Float], images: Int, tokens t: Int, width w: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(images * (t - 1) * w)
        for b in 0..<images { out += all[((b * t + 1) * w)..<((b + 1) * t * w)] }
        return out
    }
}
