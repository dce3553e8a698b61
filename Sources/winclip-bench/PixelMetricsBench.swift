import ArgumentParser
import Foundation
import WinCLIP
import AnomalyMetrics

/// Peak memory, disk and time of `PixelMetricsAccumulator` on synthetic labelled maps: what the
/// submit client pays for pixel metrics of a large labelled job.
struct PixelMetricsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pixel-metrics",
        abstract: "Measure the pixel-metrics accumulator (peak RSS, spill size, seconds) on synthetic maps and masks.",
        discussion: """
        Generates --images maps of --size x --size pixels (a 15 x 15 grid of patch scores \
        upsampled bilinearly, as WinCLIP's maps are, plus a bump over 1 to 3 elliptic defects on \
        every other image, whose masks they are; the other masks are all false), adds them to the \
        accumulator spilling into --spill-dir, then finishes. Reports the peak RSS of the process \
        (VmHWM, reset before each pass), the bytes spilled and the seconds spent in add and finish \
        (map generation excluded). With --compare-in-memory the same maps go through the \
        accumulator without a spill directory too, in the same run.
        """)

    @Option(help: "Number of images.")
    var images = 2000

    @Option(help: "Map side in pixels.")
    var size = 240

    @Option(help: "Folder of the spill file (default: the system's temporary folder).")
    var spillDir: String?

    @Option(help: "Pixels buffered per spilled run.")
    var chunkPixels = PixelMetricsAccumulator.Tuning.standard.chunkPixels

    @Option(help: "Most samples sorted at once when finishing.")
    var batchPixels = PixelMetricsAccumulator.Tuning.standard.batchPixels

    @Option(help: "Bins with at least this many samples are counted instead of sorted.")
    var denseBinPixels = PixelMetricsAccumulator.Tuning.standard.denseBinPixels

    @Option(help: "Seed of the synthetic maps.")
    var seed: UInt64 = 1

    @Flag(help: "Also run the accumulator without a spill directory (bytes kept in memory).")
    var compareInMemory = false

    func run() throws {
        let directory = URL(fileURLWithPath: spillDir ?? FileManager.default.temporaryDirectory.path)
        let tuning = PixelMetricsAccumulator.Tuning(chunkPixels: chunkPixels, batchPixels: batchPixels, denseBinPixels: denseBinPixels)
        print("\(images) images of \(size)x\(size) = \(images * size * size) pixels; tuning \(tuning)")
        let spilled = try pass(spillDirectory: directory, tuning: tuning)
        spilled.print(label: "spilled to \(directory.path)")
        if compareInMemory {
            let memory = try pass(spillDirectory: nil, tuning: tuning)
            memory.print(label: "in memory")
            Swift.print(String(format: "spilled / in memory: %.2fx the seconds, %.2fx the peak RSS; same metrics: %@",
                               spilled.seconds / memory.seconds, Double(spilled.peakRSS) / Double(memory.peakRSS),
                               spilled.metrics == memory.metrics ? "yes" : "NO"))
        }
    }

    struct Pass {
        var metrics: PixelMetrics
        var addSeconds: Double
        var finishSeconds: Double
        /// CPU seconds (user + system) of the process over add and finish (the machine may be shared).
        var cpuSeconds: Double
        var spilledBytes: Int
        var pixels: Int
        var peakRSS: Int
        var baselineRSS: Int
        var seconds: Double { addSeconds + finishSeconds }

        func print(label: String) {
            Swift.print(label)
            Swift.print(String(format: "  pixel AUROC %.6f  F1Max %.6f  AUPRO %.6f",
                               metrics.auroc ?? .nan, metrics.f1Max ?? .nan, metrics.aupro ?? .nan))
            Swift.print(String(format: "  add %.2f s, finish %.2f s (%.1f ns per pixel in all); CPU %.2f s",
                               addSeconds, finishSeconds, seconds / Double(max(pixels, 1)) * 1e9, cpuSeconds))
            Swift.print(String(format: "  spilled %.1f MB (%.2f bytes per pixel)",
                               Double(spilledBytes) / 1e6, Double(spilledBytes) / Double(max(pixels, 1))))
            Swift.print(String(format: "  peak RSS %.1f MB (%.1f MB before the first image)",
                               Double(peakRSS) / 1e6, Double(baselineRSS) / 1e6))
        }
    }

    func pass(spillDirectory: URL?, tuning: PixelMetricsAccumulator.Tuning) throws -> Pass {
        Memory.resetPeak()
        let baseline = Memory.current()
        let accumulator = try PixelMetricsAccumulator(width: size, height: size, spillDirectory: spillDirectory, tuning: tuning)
        var generator = SyntheticMaps(size: size, seed: seed)
        var addSeconds = 0.0, cpuSeconds = 0.0
        for index in 0..<images {
            let (map, mask) = generator.image(index)
            let t0 = DispatchTime.now().uptimeNanoseconds, c0 = Self.cpuSeconds()
            try accumulator.add(map: map, mask: mask)
            addSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            cpuSeconds += Self.cpuSeconds() - c0
        }
        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = Self.cpuSeconds()
        let metrics = try accumulator.finish()
        let finishSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        cpuSeconds += Self.cpuSeconds() - c0
        return Pass(metrics: metrics, addSeconds: addSeconds, finishSeconds: finishSeconds, cpuSeconds: cpuSeconds,
                    spilledBytes: accumulator.spilledBytes,
                    pixels: images * size * size, peakRSS: Memory.peak(), baselineRSS: baseline)
    }

    static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// Maps like WinCLIP's: patch scores on a 15 x 15 grid, bilinearly upsampled; every other image
/// has 1 to 3 elliptic defects (its mask) under a smooth bump of the score.
struct SyntheticMaps {
    let size: Int
    let seed: UInt64
    private var map: [Float]
    private var mask: [Bool]
    private static let grid = 15

    init(size: Int, seed: UInt64) {
        self.size = size
        self.seed = seed
        map = [Float](repeating: 0, count: size * size)
        mask = [Bool](repeating: false, count: size * size)
    }

    mutating func image(_ index: Int) -> (map: [Float], mask: [Bool]) {
        var rng = SplitMix64(seed: seed &* 0x9e37_79b9_7f4a_7c15 &+ UInt64(index))
        let g = Self.grid
        let patches = (0..<(g * g)).map { _ in Float.random(in: 0.15...0.55, using: &rng) }
        var defects: [(cx: Float, cy: Float, rx: Float, ry: Float)] = []
        if index % 2 == 1 {
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let s = Float(size)
                defects.append((Float.random(in: 0..<s, using: &rng), Float.random(in: 0..<s, using: &rng),
                                Float.random(in: s / 60...s / 8, using: &rng), Float.random(in: s / 60...s / 8, using: &rng)))
            }
        }
        let scale = Float(g) / Float(size)
        for y in 0..<size {
            let fy = min(max((Float(y) + 0.5) * scale - 0.5, 0), Float(g - 1))
            let y0 = min(Int(fy), g - 2), wy = fy - Float(y0)
            for x in 0..<size {
                let fx = min(max((Float(x) + 0.5) * scale - 0.5, 0), Float(g - 1))
                let x0 = min(Int(fx), g - 2), wx = fx - Float(x0)
                let top = patches[y0 * g + x0] * (1 - wx) + patches[y0 * g + x0 + 1] * wx
                let bottom = patches[(y0 + 1) * g + x0] * (1 - wx) + patches[(y0 + 1) * g + x0 + 1] * wx
                var score = top * (1 - wy) + bottom * wy
                var inside = false
                for d in defects {
                    let dx = (Float(x) - d.cx) / d.rx, dy = (Float(y) - d.cy) / d.ry
                    let e = dx * dx + dy * dy
                    if e <= 1 { inside = true }
                    score += 0.4 * max(0, 1 - e / 3)
                }
                map[y * size + x] = min(score, 1)
                mask[y * size + x] = inside
            }
        }
        return (map, mask)
    }
}

/// A small seeded generator.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce5_e4b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// The process's resident memory, from /proc/self/status (Linux).
enum Memory {
    /// Peak resident set (VmHWM) in bytes, 0 when unknown.
    static func peak() -> Int { status("VmHWM:") }
    /// Current resident set (VmRSS) in bytes, 0 when unknown.
    static func current() -> Int { status("VmRSS:") }

    /// Sets the peak back to the current resident set (writing 5 to /proc/self/clear_refs).
    static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    private static func status(_ key: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let kB = line.dropFirst(key.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0
            return kB * 1024
        }
        return 0
    }
}
