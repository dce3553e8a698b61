import Foundation

public struct WinCLIPOptions: Sendable, Equatable {
    /// Window sizes in patches (anomalib's default: 2 and 3).
    public var scales: [Int] = [2, 3]
    /// CLIP's softmax temperature used by WinCLIP.
    public var temperature: Float = 0.07
    public var windowAttention: WindowAttention = .default
    public init(scales: [Int] = [2, 3], temperature: Float = 0.07, windowAttention: WindowAttention = .default) {
        self.scales = scales
        self.temperature = temperature
        self.windowAttention = windowAttention
    }
}

/// WinCLIP on one CLIP model: text setup, reference setup, the units of an image (what
/// workers run) and, through `ImageAssembly` and `ScoreAssembler`, the coordinator's half.
public struct WinCLIPScorer: Sendable {
    public let model: CLIPModel
    public let options: WinCLIPOptions
    public let windowEncoders: [WindowEncoder]
    public let assembler: ScoreAssembler
    let tokenizer: SimpleTokenizer

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

    /// The normal and anomalous text embeddings for a class name (the coordinator caches them
    /// per model and class).
    public func textEmbeddings(className: String, gemm: MatMulBackend) throws -> TextEmbeddings {
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
        return TextEmbeddings(normal: mean(0..<normal.count), anomalous: mean(normal.count..<(normal.count + anomalous.count)))
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

    // MARK: - Units (what workers run; the cluster and `score` share this path)

    /// How an image's work is cut into units for this model and these options.
    public func plan(rowsPerUnit: Int? = nil) throws -> ImagePlan {
        try ImagePlan(gridSize: model.config.vision.gridSize, scales: options.scales, attention: options.windowAttention, rowsPerUnit: rowsPerUnit)
    }

    /// Runs one unit on one preprocessed image [3, S, S].
    public func run(_ unit: ImageUnit, pixels: [Float], context: ScoringContext, gemm: MatMulBackend) throws -> UnitScores {
        let v = model.config.vision, e = model.config.embedDim, t = options.temperature
        guard pixels.count == 3 * v.imageSize * v.imageSize else {
            throw ScoringError("pixels must be [3, \(v.imageSize), \(v.imageSize)], got \(pixels.count) values")
        }
        let tokens = model.vision.embedTokens(pixels: pixels, count: 1, gemm: gemm)
        switch unit {
        case .full:
            let full = model.vision.encodeSequences(tokens, batch: .uniform(count: 1, length: v.tokens), keepTokens: context.fewShot, gemm: gemm)
            let imageScore = Similarity.anomalousClassScores(full.embeddings, width: e, text: context.text, temperature: t)[0]
            guard let references = context.references else { return .full(imageScore: imageScore, fewShotPatches: nil) }
            let patches = Self.patchTokens(full.tokens!, images: 1, tokens: v.tokens, width: v.width)
            return .full(imageScore: imageScore,
                         fewShotPatches: Similarity.visualAssociation(patches, width: v.width, normalizedReferences: references.patchTokens, gemm: gemm))
        case .windows(let scale, let range):
            guard scale >= 0, scale < windowEncoders.count, range.lowerBound >= 0, !range.isEmpty, range.upperBound <= windowEncoders[scale].masks.count else {
                throw ScoringError("windows \(range) of scale index \(scale) do not exist for scales \(options.scales)")
            }
            if let refs = context.references, refs.windows.count != windowEncoders.count {
                throw ScoringError("the references hold \(refs.windows.count) scales, the options \(windowEncoders.count)")
            }
            let embeddings = windowEncoders[scale].encode(tokens: tokens, images: 1, windows: range, gemm: gemm)
            let zero = Similarity.anomalousClassScores(embeddings, width: e, text: context.text, temperature: t)
            guard let references = context.references else { return .windows(zeroShot: zero, fewShot: nil) }
            return .windows(zeroShot: zero, fewShot: Similarity.visualAssociation(embeddings, width: e, normalizedReferences: references.windows[scale], gemm: gemm))
        }
    }

    /// One image in process, as anomalib's `WinClipModel` scores it: every unit of the plan,
    /// then the assembly, exactly as the cluster runs them.
    public func score(pixels: [Float], context: ScoringContext, plan: ImagePlan? = nil, gemm: MatMulBackend) throws -> AnomalyResult {
        let plan = try plan ?? self.plan()
        var assembly = ImageAssembly(plan: plan, fewShot: context.fewShot)
        for unit in plan.units { try assembly.add(unit, try run(unit, pixels: pixels, context: context, gemm: gemm)) }
        return assembler.assemble(assembly.windowScores!)
    }

    static func patchTokens(_ all: [Float], images: Int, tokens t: Int, width w: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(images * (t - 1) * w)
        for b in 0..<images { out += all[((b * t + 1) * w)..<((b + 1) * t * w)] }
        return out
    }
}
