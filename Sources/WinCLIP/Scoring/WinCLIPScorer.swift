import Foundation
import Options

/// WinCLIP on one CLIP model: text setup, reference setup, the units of an image (what
/// workers run) and, through `ImageAssembly`, the coordinator's half. The in-process `score`
/// runs the same units and the same assembly as the cluster.
public struct WinCLIPScorer: Sendable {
    /// CLIP's softmax temperature as WinCLIP uses it (anomalib's `TEMPERATURE`).
    public static let temperature: Float = 0.07

    public let model: CLIPModel
    public let scales: [Int]
    public let attention: WindowAttention
    public let windowEncoders: [WindowEncoder]
    let tokenizer: SimpleTokenizer

    public init(model: CLIPModel, scales: [Int] = JobOptions.defaultScales, attention: WindowAttention = .default, tokenizer: SimpleTokenizer? = nil) throws {
        self.model = model
        self.scales = scales
        self.attention = attention
        let grid = model.config.vision.gridSize
        windowEncoders = try scales.map {
            WindowEncoder(vision: model.vision, masks: try WindowMasks(gridSize: grid, kernelSize: $0), attention: attention)
        }
        self.tokenizer = try tokenizer ?? SimpleTokenizer()
    }

    public init(model: CLIPModel, options: JobOptions, tokenizer: SimpleTokenizer? = nil) throws {
        try self.init(model: model, scales: options.scales, attention: options.windowAttention, tokenizer: tokenizer)
    }

    // MARK: - Setup

    /// The normal and anomalous text embeddings for a class name (the coordinator caches them
    /// per model and class).
    public func textEmbeddings(className: String, prompts: PromptSet = .anomalib, gemm: MatMulBackend) throws -> TextEmbeddings {
        let (normal, anomalous) = prompts.prompts(className: className)
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
        try ImagePlan(gridSize: model.config.vision.gridSize, imageSize: model.config.vision.imageSize, scales: scales,
                      attention: attention, rowsPerUnit: rowsPerUnit)
    }

    /// Runs one unit on one preprocessed image [3, S, S].
    public func run(_ unit: ImageUnit, pixels: [Float], context: ScoringContext, gemm: MatMulBackend) throws -> UnitScores {
        let v = model.config.vision, e = model.config.embedDim, t = Self.temperature
        guard pixels.count == 3 * v.imageSize * v.imageSize else {
            throw ScoringError("pixels must be [3, \(v.imageSize), \(v.imageSize)], got \(pixels.count) values")
        }
        switch unit {
        case .full:
            // A batch of one: the batched and the single pass are one code path.
            return try runFullPasses(pixels: [pixels], context: context, gemm: gemm)[0]
        case .windows(let scale, let range):
            guard scale >= 0, scale < windowEncoders.count, range.lowerBound >= 0, !range.isEmpty, range.upperBound <= windowEncoders[scale].masks.count else {
                throw ScoringError("windows \(range) of scale index \(scale) do not exist for scales \(scales)")
            }
            if let refs = context.references, refs.windows.count != windowEncoders.count {
                throw ScoringError("the references hold \(refs.windows.count) scales, the options \(windowEncoders.count)")
            }
            let tokens = model.vision.embedTokens(pixels: pixels, count: 1, gemm: gemm)
            let embeddings = windowEncoders[scale].encode(tokens: tokens, images: 1, windows: range, gemm: gemm)
            let zero = Similarity.anomalousClassScores(embeddings, width: e, text: context.text, temperature: t)
            guard let references = context.references else { return .windows(zeroShot: zero, fewShot: nil) }
            return .windows(zeroShot: zero, fewShot: Similarity.visualAssociation(embeddings, width: e, normalizedReferences: references.windows[scale], gemm: gemm))
        }
    }

    /// One image in process, as anomalib's `WinClipModel` scores it: the plan's units one by
    /// one, then the assembly, exactly as the cluster runs them.
    public func score(pixels: [Float], context: ScoringContext, plan: ImagePlan? = nil, mapPolicy: MapPolicy = .always,
                      gemm: MatMulBackend) throws -> AnomalyResult {
        var assembly = ImageAssembly(plan: try plan ?? self.plan(), fewShot: context.fewShot, mapPolicy: mapPolicy)
        var queue = assembly.initialUnits
        while !queue.isEmpty {
            let unit = queue.removeFirst()
            queue += try assembly.add(unit, try run(unit, pixels: pixels, context: context, gemm: gemm))
        }
        return assembly.result!
    }

    static func patchTokens(_ all: [Float], images: Int, tokens t: Int, width w: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(images * (t - 1) * w)
        for b in 0..<images { out += all[((b * t + 1) * w)..<((b + 1) * t * w)] }
        return out
    }
}
