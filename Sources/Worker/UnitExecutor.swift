import Foundation
import Options
import Protocol
import WinCLIP

/// The worker's computation, on the compute thread: a CONTEXT is stored, a UNIT becomes its
/// RESULT. Holds the model and the job contexts (text and reference embeddings) the
/// coordinator sent; a value owned by one thread, so it needs no lock.
public struct UnitExecutor {
    public let model: CLIPModel
    public let backends: ComputeBackends
    let tokenizer: SimpleTokenizer
    private var scorers: [JobOptions: WinCLIPScorer] = [:]
    private var contexts: [JobID: ScoringContext] = [:]
    private var contextOrder: [JobID] = []
    /// Contexts kept at once (a worker serves few jobs at a time; older ones are dropped).
    let maxContexts = 8

    public init(model: CLIPModel, backends: ComputeBackends) throws {
        self.model = model
        self.backends = backends
        tokenizer = try SimpleTokenizer()
    }

    /// A UNIT's RESULT; nil for a CONTEXT (stored) or a message of another type.
    public mutating func handle(_ message: WireMessage) -> WireMessage? {
        switch message.type {
        case .unit: return execute(message)
        case .context: try? storeContext(message); return nil
        default: return nil
        }
    }

    mutating func scorer(_ options: JobOptions) throws -> WinCLIPScorer {
        if let s = scorers[options] { return s }
        let s = try WinCLIPScorer(model: model, options: options, tokenizer: tokenizer)
        scorers[options] = s
        return s
    }

    /// Stores a CONTEXT message's embeddings.
    public mutating func storeContext(_ message: WireMessage) throws {
        let vision = model.config.vision
        let context = try JobEmbeddings(decoding: message, embedDim: model.config.embedDim, gridSize: vision.gridSize, visionWidth: vision.width)
        let text = TextEmbeddings(normal: context.text.normal, anomalous: context.text.anomalous)
        let references = context.references.map { ReferenceEmbeddings(count: $0.count, patchTokens: $0.patchTokens, windows: $0.windows) }
        contexts[context.job] = ScoringContext(text: text, references: references)
        contextOrder.removeAll { $0 == context.job }
        contextOrder.append(context.job)
        while contextOrder.count > maxContexts { contexts[contextOrder.removeFirst()] = nil }
    }

    /// Runs a UNIT message; failures become a RESULT with `error`.
    public mutating func execute(_ message: WireMessage) -> WireMessage {
        let started = DispatchTime.now().uptimeNanoseconds
        let spec: UnitSpec
        do { spec = try UnitSpec(decoding: message, imageSize: model.config.vision.imageSize) } catch {
            // Answered as the unit it names when its body reads, so that the coordinator
            // re-queues it at once.
            let address = UnitSpec.address(of: message)
            return UnitReply.failed("\(error)").encode(job: address?.job ?? 0, unit: address?.unit ?? -1)
        }
        do {
            let reply = try run(spec)
            return reply.encode(job: spec.job, unit: spec.unit, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        } catch {
            return UnitReply.failed("\(error)").encode(job: spec.job, unit: spec.unit)
        }
    }

    mutating func run(_ spec: UnitSpec) throws -> UnitReply {
        let scorer = try self.scorer(spec.options)
        let gemm = try backends.backend(for: spec.options.precision)
        let unit: ImageUnit, pixels: Data, fewShot: Bool
        switch spec.work {
        case .text:
            guard let className = spec.options.className else { throw ProtocolError("text unit without a class name") }
            let text = try scorer.textEmbeddings(className: className, prompts: spec.options.prompts ?? .anomalib, gemm: gemm)
            return .text(TextVectors(normal: text.normal, anomalous: text.anomalous))
        case .references(let images):
            let pixels = try images.flatMap { try FloatBlob.decode($0) }
            let refs = scorer.referenceEmbeddings(pixels: pixels, count: images.count, gemm: gemm)
            return .references(ReferenceVectors(count: refs.count, patchTokens: refs.patchTokens, windows: refs.windows))
        case .fullPass(_, let data, let few):
            (unit, pixels, fewShot) = (.full, data, few)
        case .windows(_, let scale, let windows, let data, let few):
            (unit, pixels, fewShot) = (.windows(scaleIndex: scale, windows: windows), data, few)
        }
        guard let context = contexts[spec.job] else { throw ProtocolError("no CONTEXT for job \(spec.job) on this worker") }
        if fewShot && !context.fewShot { throw ProtocolError("few-shot unit but the job context has no references") }
        let used = fewShot ? context : ScoringContext(text: context.text, references: nil)
        switch try scorer.run(unit, pixels: try FloatBlob.decode(pixels), context: used, gemm: gemm) {
        case .full(let imageScore, let patches):
            return .fullPass(imageScore: imageScore, fewShotPatches: patches)
        case .windows(let zero, let few):
            return .windows(zeroShot: zero, fewShot: few)
        }
    }
}
