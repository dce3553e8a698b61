import ArgumentParser
import Foundation
import Logging
import WinCLIP

/// Times the image tower on random weights and compares it with the GEMM ceiling measured in
/// the same run (never an absolute number alone: these machines are shared and noisy).
@main
struct WinCLIPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "winclip-bench",
        abstract: "Benchmark the CLIP image tower (full pass and WinCLIP window passes) against the GEMM ceiling.",
        discussion: """
        Builds the model with random weights (no download), times one full image pass and the \
        sliding-window passes of WinCLIP's scales, counts the GEMM work actually done, and \
        prints GFLOP/s next to the sgemm ceiling measured on the same machine in the same run.
        """,
        subcommands: [PixelMetricsBench.self, ClusterBench.self])

    @Option(help: "Model config: a built-in name or an open_clip JSON path.")
    var modelConfig = ModelConfig.defaultName

    @Option(help: "BLAS threads (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Timed repetitions of each pass (the best is reported).")
    var repeats = 3

    @Option(help: "Window scales, comma-separated.")
    var scales = "2,3"

    func run() throws {
        var logger = Logger(label: "winclip-bench")
        logger.logLevel = .info
        let blas = try OpenBLASBackend(threads: threads, logger: logger)
        let config = try ModelConfig.load(modelConfig)
        let scaleList = scales.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        print("model \(config.name): image \(config.vision.imageSize), grid \(config.vision.gridSize), width \(config.vision.width), \(config.vision.layers) layers")
        print("BLAS: \(blas.status.core) core, \(threads) thread(s) [\(blas.status.reason)]")

        // The ceiling: the largest window-pass GEMM shape (rows x mlp x width), best of 5.
        let w = config.vision.width, mlp = config.vision.mlpWidth
        let grid = config.vision.gridSize
        var rows = config.vision.tokens
        for scale in scaleList where scale <= grid {
            let positions = grid - scale + 1
            rows = max(rows, positions * positions * (scale * scale + 1))
        }
        let ceiling = gemmCeiling(blas, m: rows, n: mlp, k: w)
        print(String(format: "GEMM ceiling: %.1f GFLOP/s (sgemm %dx%dx%d, best of 5)", ceiling, rows, mlp, w))

        print("building random weights...")
        let model = CLIPModel(config: config, weights: .random(config: config, seed: 7))
        let counter = CountingBackend(blas)
        let s = config.vision.imageSize
        var rng = SystemRandomNumberGenerator()
        let pixels = (0..<(3 * s * s)).map { _ in Float.random(in: -2...2, using: &rng) }

        var total = (seconds: 0.0, flops: 0.0)
        func report(_ label: String, _ body: () -> Void) {
            counter.reset()
            body()  // warm-up, and the FLOP count of one run
            let flops = counter.flops
            var best = Double.infinity
            for _ in 0..<max(repeats, 1) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                body()
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            total.seconds += best
            total.flops += flops
            let rate = flops / best / 1e9
            print(label.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%8.3f s  %7.1f GFLOP  %6.1f GFLOP/s  %5.2f of ceiling", best, flops / 1e9, rate, rate / ceiling))
        }
        var tokens: [Float] = []
        report("full image pass (\(config.vision.tokens) tok)") {
            tokens = model.vision.embedTokens(pixels: pixels, count: 1, gemm: counter)
            _ = model.vision.encodeSequences(tokens, batch: .uniform(count: 1, length: config.vision.tokens), keepTokens: true, gemm: counter)
        }
        for scale in scaleList {
            let masks = try WindowMasks(gridSize: config.vision.gridSize, kernelSize: scale)
            var packed: [Float] = []
            packed.reserveCapacity(masks.count * masks.sequenceLength * w)
            for window in masks.windows {
                packed += tokens[0..<w]
                for p in window { packed += tokens[((p + 1) * w)..<((p + 2) * w)] }
            }
            report("windows k=\(scale) (\(masks.count)x\(masks.sequenceLength) tok)") {
                _ = model.vision.encodeSequences(packed, batch: .uniform(count: masks.count, length: masks.sequenceLength), gemm: counter)
            }
        }
        let rate = total.flops / total.seconds / 1e9
        defer {
            // Text setup: the 231 prompts of anomalib's ensemble through the text tower.
            if let scorer = try? WinCLIPScorer(model: model, scales: scaleList) {
                counter.reset()
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try? scorer.textEmbeddings(className: "transistor", gemm: counter)
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                print("text setup (231 prompts)".padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%8.3f s  %7.1f GFLOP  %6.1f GFLOP/s  %5.2f of ceiling", seconds, counter.flops / 1e9, counter.flops / seconds / 1e9, counter.flops / seconds / 1e9 / ceiling))
            }
        }
        print("one WinCLIP image".padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%8.3f s  %7.1f GFLOP  %6.1f GFLOP/s  %5.2f of ceiling", total.seconds, total.flops / 1e9, rate, rate / ceiling))
    }

    func gemmCeiling(_ gemm: MatMulBackend, m: Int, n: Int, k: Int) -> Double {
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        gemm.gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!, lda: k,
                                  b: bp.baseAddress!, ldb: k, beta: 0, c: cp.baseAddress!, ldc: n)
                    }
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }
}
