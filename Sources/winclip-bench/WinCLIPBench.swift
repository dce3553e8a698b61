import ArgumentParser
import CLI
import Foundation
import Options
import Logging
import WinCLIP

/// Times the image tower and the text setup on random weights and compares them with the GEMM
/// ceiling measured in the same run (never an absolute number alone: these machines are shared
/// and noisy).
@main
struct WinCLIPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winclip-bench",
        abstract: "Benchmark the CLIP towers (full pass, WinCLIP window passes, text setup) against the GEMM ceiling.",
        discussion: """
        Builds the model with random weights (no download), times one full image pass, the \
        sliding-window passes of WinCLIP's scales (independent windows) and the text setup \
        (the 231 prompts of anomalib's ensemble), counts the GEMM work actually done, and \
        prints GFLOP/s as a fraction of the ceiling: the linear-layer product of the largest \
        window-pass shape, at the same precision, on the same machine, in the same run.
        """,
        subcommands: [PixelMetricsBench.self, CurveHandshakeBench.self, ClusterBench.self])

    @Option(help: "Model config: a built-in name or an open_clip JSON path.")
    var modelConfig = ModelConfig.defaultName

    @Option(help: "BLAS threads (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Timed repetitions of each pass (the best is reported).")
    var repeats = 3

    @Option(help: "Window scales, comma-separated.")
    var scales = "2,3"

    @Option(help: "Linear layers in fp32 (OpenBLAS) or bf16 (oneDNN; needs AVX512_BF16 or AMX); \"fp32,bf16\" measures both in one run and prints their ratio.")
    var precision = "fp32"

    @Option(help: "Also time the scorer's full passes (classification's unit) at batch 1 and at this many images per batch (bit-identical scores, one larger GEMM per linear layer).")
    var fullBatch: Int?

    @Option(help: "GEMM library of fp32's linear layers: openblas (the product's default) or onednn (its f32 matmul, an option).")
    var fp32Gemm = "openblas"

    func run() throws {
        var logger = Logger(label: "winclip-bench")
        logger.logLevel = .info
        var precisions: [Precision] = []
        for name in precision.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let p = Precision(rawValue: name) else { throw ValidationError("unknown precision '\(name)': fp32 or bf16") }
            precisions.append(p)
        }
        guard !precisions.isEmpty else { throw ValidationError("--precision needs fp32, bf16 or both") }
        if let fullBatch, fullBatch < 1 { throw ValidationError("--full-batch needs 1 or more images, got \(fullBatch)") }
        var backends: [MatMulBackend] = []
        guard ["openblas", "onednn"].contains(fp32Gemm) else { throw ValidationError("--fp32-gemm is openblas or onednn") }
        for p in precisions {
            do {
                if p == .fp32 && fp32Gemm == "onednn" {
                    backends.append(try OneDNNBackend(precision: .fp32, threads: threads, logger: logger))
                } else {
                    backends.append(try p.makeBackend(threads: threads, logger: logger))
                }
            } catch let error as PrecisionUnavailable {
                throw ValidationError(error.description)
            }
        }
        let config = try ModelConfig.load(modelConfig)
        let scaleList = scales.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        print("model \(config.name): image \(config.vision.imageSize), grid \(config.vision.gridSize), width \(config.vision.width), \(config.vision.layers) layers")
        print("CPU: \(cpuModel()) [\(CPUFeatures.current.summary)], \(threads) thread(s)")
        print("building random weights...")
        let model = CLIPModel(config: config, weights: .random(config: config, seed: 7))
        var imagesPerSecond: [Double] = []
        for (p, backend) in zip(precisions, backends) {
            imagesPerSecond.append(try measure(model: model, scales: scaleList, precision: p, backend: backend))
        }
        if precisions.count > 1 {
            let pairs = zip(precisions, imagesPerSecond).map { String(format: "%@ %.3f", $0.0.rawValue, $0.1) }
            print(String(format: "images/s %@: %@ / %@ = %.2f", pairs.joined(separator: ", "), precisions.last!.rawValue, precisions[0].rawValue,
                         imagesPerSecond.last! / imagesPerSecond[0]))
        }
    }

    /// The table of one precision; returns its images/s (segmentation).
    func measure(model: CLIPModel, scales scaleList: [Int], precision: Precision, backend: MatMulBackend) throws -> Double {
        let config = model.config
        print("precision \(precision): \(backend.name)")
        // The ceiling: the linear layer of the largest window-pass shape (rows x mlp x width).
        let w = config.vision.width, mlp = config.vision.mlpWidth
        let grid = config.vision.gridSize
        var rows = config.vision.tokens
        for scale in scaleList where scale <= grid {
            let positions = grid - scale + 1
            rows = max(rows, positions * positions * (scale * scale + 1))
        }
        // Sampled before and after every section and the best kept, so that a busy moment on
        // a shared machine does not lower the ceiling; the table is printed at the end.
        var ceilingInput = CeilingInput(m: rows, n: mlp, k: w)
        var ceiling = ceilingInput.sample(backend, runs: 5)
        let counter = CountingBackend(backend)
        let s = config.vision.imageSize
        var rng = SplitMix(seed: 11)
        let pixels = (0..<(3 * s * s)).map { _ in rng.nextFloat() * 4 - 2 }

        var table: [(label: String, timing: Timing)] = []
        /// Runs `body` once to warm up and count its FLOPs, then `repeats` times; the best time.
        func measure(_ label: String, _ body: () throws -> Void) rethrows -> Timing {
            counter.reset()
            try body()
            let flops = counter.flops
            var best = Timing(seconds: .infinity, cpuSeconds: 0, flops: flops)
            for _ in 0..<max(repeats, 1) {
                let c0 = Self.processCPUSeconds(), t0 = DispatchTime.now().uptimeNanoseconds
                try body()
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if seconds < best.seconds { best = Timing(seconds: seconds, cpuSeconds: Self.processCPUSeconds() - c0, flops: flops) }
            }
            table.append((label, best))
            ceiling = ceiling.best(ceilingInput.sample(backend, runs: 2))
            return best
        }

        var tokens: [Float] = []
        var batchImagesPerSecond: (one: Double, batched: Double)?
        let full = measure("full image pass (\(config.vision.tokens) tok)") {
            tokens = model.vision.embedTokens(pixels: pixels, count: 1, gemm: counter)
            _ = model.vision.encodeSequences(tokens, batch: .uniform(count: 1, length: config.vision.tokens), keepTokens: true, gemm: counter)
        }
        var image = full
        let tokenizer = try SimpleTokenizer()
        let scorer = try WinCLIPScorer(model: model, scales: scaleList, tokenizer: tokenizer)
        if let fullBatch {
            // The scorer's full passes as a worker runs them (zero-shot: classification), on
            // distinct images, alone and batched; per-image figures come from the same table.
            let e = config.embedDim
            let context = ScoringContext(text: TextEmbeddings(normal: (0..<e).map { _ in rng.nextFloat() - 0.5 }, anomalous: (0..<e).map { _ in rng.nextFloat() - 0.5 }), references: nil)
            let images = (0..<fullBatch).map { i in i == 0 ? pixels : (0..<(3 * s * s)).map { _ in rng.nextFloat() * 4 - 2 } }
            let one = try measure("full pass, batch 1") {
                _ = try scorer.runFullPasses(pixels: [images[0]], context: context, gemm: counter)
            }
            let batched = try measure("full pass, batch \(fullBatch)") {
                _ = try scorer.runFullPasses(pixels: images, context: context, gemm: counter)
            }
            batchImagesPerSecond = (1 / one.seconds, Double(fullBatch) / batched.seconds)
        }
        // The scorer's window encoders: independent windows (the default attention).
        for (scale, encoder) in zip(scaleList, scorer.windowEncoders) {
            let masks = encoder.masks
            image = image + measure("windows k=\(scale) (\(masks.count)x\(masks.sequenceLength) tok)") {
                _ = encoder.encode(tokens: tokens, images: 1, gemm: counter)
            }
        }
        table.append(("one WinCLIP image", image))

        // Text setup: the 231 prompts of anomalib's ensemble through the text tower, fp32 at
        // every precision.
        _ = try measure(precision == .fp32 ? "text setup (231 prompts)" : "text setup (231 prompts, fp32)") {
            _ = try scorer.textEmbeddings(className: "transistor", gemm: counter)
        }

        let ceilingRate = ceiling.flops / ceiling.seconds / 1e9
        print(String(format: "GEMM ceiling: %.1f GFLOP/s (%@ linear %dx%dx%d, best of all samples)", ceilingRate, precision.rawValue, rows, mlp, w))
        print("""
            fraction: GFLOP/s over the ceiling's. busy: process CPU time / (wall time x threads); \
            below about 0.95 other processes shared the cores, and the cpu-time fraction (the same \
            ratio with CPU time in place of wall time) is the steadier figure.
            """)
        print("".padding(toLength: 30, withPad: " ", startingAt: 0) + "  seconds    GFLOP  GFLOP/s  fraction  busy  cpu-time fraction")
        for (label, t) in table {
            let rate = t.flops / t.seconds / 1e9
            print(label.padding(toLength: 30, withPad: " ", startingAt: 0)
                + String(format: "%9.3f %8.1f %8.1f %9.2f %5.2f %9.2f", t.seconds, t.flops / 1e9, rate, rate / ceilingRate,
                         t.cpuSeconds / t.seconds / Double(threads), (t.flops / t.cpuSeconds) / (ceiling.flops / ceiling.cpuSeconds)))
        }
        print(String(format: "images/s: %.3f (%.2f s per image, segmentation, %@)", 1 / image.seconds, image.seconds, precision.rawValue))
        if let fullBatch, let rates = batchImagesPerSecond {
            print(String(format: "full passes/s (classification, %@): batch 1 %.3f, batch %d %.3f (x%.2f)", precision.rawValue, rates.one, fullBatch,
                         rates.batched, rates.batched / rates.one))
        }
        return 1 / image.seconds
    }

    /// The same pixels in every run and for every precision (SplitMix64).
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func nextFloat() -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float((z ^ (z >> 31)) >> 40) / Float(1 << 24)
        }
    }

    struct Timing {
        var seconds: Double
        var cpuSeconds: Double
        var flops: Double
        /// The shorter wall time and the shorter CPU time of two timings of the same work.
        func best(_ other: Timing) -> Timing {
            Timing(seconds: min(seconds, other.seconds), cpuSeconds: min(cpuSeconds, other.cpuSeconds), flops: flops)
        }
        static func + (a: Timing, b: Timing) -> Timing {
            Timing(seconds: a.seconds + b.seconds, cpuSeconds: a.cpuSeconds + b.cpuSeconds, flops: a.flops + b.flops)
        }
    }

    /// The linear-layer product the ceiling is measured on, with its operands made once.
    struct CeilingInput {
        let m: Int
        let x: [Float]
        let weights: LinearWeights
        var y: [Float]

        init(m: Int, n: Int, k: Int) {
            self.m = m
            x = (0..<(m * k)).map { Float($0 % 17) / 17 - 0.5 }
            weights = LinearWeights(weight: (0..<(n * k)).map { Float($0 % 13) / 13 - 0.5 }, bias: [Float](repeating: 0, count: n), outFeatures: n, inFeatures: k)
            y = [Float](repeating: 0, count: m * n)
        }

        /// The fastest of `runs` products, after a warm-up (which also converts the weight, for
        /// bf16); the least CPU time is kept separately.
        mutating func sample(_ gemm: MatMulBackend, runs: Int) -> Timing {
            let flops = 2 * Double(m) * Double(weights.outFeatures) * Double(weights.inFeatures)
            var best = Timing(seconds: .infinity, cpuSeconds: .infinity, flops: flops)
            for run in 0...runs {
                let c0 = WinCLIPBench.processCPUSeconds(), t0 = DispatchTime.now().uptimeNanoseconds
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { gemm.linear(xp.baseAddress!, rows: m, weights: weights, into: $0.baseAddress!) }
                }
                if run > 0 {
                    best = best.best(Timing(seconds: Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, cpuSeconds: WinCLIPBench.processCPUSeconds() - c0, flops: flops))
                }
            }
            return best
        }
    }

    static func processCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    func cpuModel() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown CPU" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
}
