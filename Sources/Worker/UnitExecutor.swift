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
        let header = try message.decode(JobContext.self)
        let e = model.config.embedDim, w = model.config.vision.width, g = model.config.vision.gridSize
        let text = TextEmbeddings(normal: try message.floats(0, count: e), anomalous: try message.floats(1, count: e))
        var references: ReferenceEmbeddings?
        if header.referenceCount > 0 {
            let k = header.referenceCount
            let patches = try message.floats(2, count: k * g * g * w)
            var windows: [[Float]] = []
            for i in 3..<message.blobs.count {
                let values = try message.floats(i)
                guard values.count % (k * e) == 0 else { throw ProtocolError("CONTEXT window blob \(i) has \(values.count) floats, not a multiple of \(k * e)") }
                windows.append(values)
            }
            references = ReferenceEmbeddings(count: k, patchTokens: patches, windows: windows)
        }
        contexts[header.job] = ScoringContext(text: text, references: references)
        contextOrder.removeAll { $0 == header.job }
        contextOrder.append(header.job)
        while contextOrder.count > maxContexts { contexts[contextOrder.removeFirst()] = nil }
    }

    /// Runs a UNIT message; failures become a RESULT with `error`.
    public mutating func execute(_ message: WireMessage) -> WireMessage {
        let started = DispatchTime.now().uptimeNanoseconds
        let spec: UnitSpec
        do { spec = try message.decode(UnitSpec.self) } catch {
            return WireMessage(.result, UnitResult(job: 0, unit: -1, error: "\(error)"))
        }
        do {
            var (result, blobs) = try run(spec, message)
            result.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            return WireMessage(.result, result, blobs: blobs)
        } catch {
            return WireMessage(.result, UnitResult(job: spec.job, unit: spec.unit, error: "\(error)"))
        }
    }

    mutating func run(_ spec: UnitSpec, _ message: WireMessage) throws -> (UnitResult, [Data]) {
        let scorer = try self.scorer(spec.options)
        let gemm = try backends.backend(for: spec.options.precision)
        let s = model.config.vision.imageSize
        let pixelCount = 3 * s * s
        let done = UnitResult(job: spec.job, unit: spec.unit)
        switch spec.kind {
        case .text:
            guard let className = spec.options.className else { throw ProtocolError("text unit without a class name") }
            let text = try scorer.textEmbeddings(className: className, prompts: spec.options.prompts ?? .anomalib, gemm: gemm)
            return (done, [FloatBlob.encode(text.normal), FloatBlob.encode(text.anomalous)])
        case .references:
            let k = message.blobs.count
            guard k > 0 else { throw ProtocolError("references unit without images") }
            var pixels: [Float] = []
            for i in 0..<k { pixels += try message.floats(i, count: pixelCount) }
            let refs = scorer.referenceEmbeddings(pixels: pixels, count: k, gemm: gemm)
            return (done, [FloatBlob.encode(refs.patchTokens)] + refs.windows.map(FloatBlob.encode))
        case .full, .windows:
            let pixels = try message.floats(0, count: pixelCount)
            guard let context = contexts[spec.job] else { throw ProtocolError("no CONTEXT for job \(spec.job) on this worker") }
            if spec.fewShot && !context.fewShot { throw ProtocolError("few-shot unit but the job context has no references") }
            let unit: ImageUnit
            if spec.kind == .full {
                unit = .full
            } else {
                guard let scale = spec.scaleIndex, let start = spec.windowStart, let count = spec.windowCount, count > 0, start >= 0 else {
                    throw ProtocolError("windows unit without a scale and window range")
                }
                unit = .windows(scaleIndex: scale, windows: start..<(start + count))
            }
            let used = spec.fewShot ? context : ScoringContext(text: context.text, references: nil)
            switch try scorer.run(unit, pixels: pixels, context: used, gemm: gemm) {
            case .full(let imageScore, let patches):
                return (done, [FloatBlob.encode([imageScore])] + (patches.map { [FloatBlob.encode($0)] } ?? []))
            case .windows(let zero, let few):
                return (done, [FloatBlob.encode(zero)] + (few.map { [FloatBlob.encode($0)] } ?? []))
            }
        }
    }
}
