import Foundation
import XCTest
import WinCLIP
import ImageInput

/// A measuring tool, not a check: the peak resident memory (VmHWM) of loading one image and
/// preprocessing it for CLIP, used to choose `ImageLimits.defaultMaxPixels`. Skipped unless
/// WINCLIP_MEMORY_PROBE names an image; run it alone so the peak is this image's:
///   WINCLIP_MEMORY_PROBE=/tmp/big.png swift test --disable-swift-testing --skip-build \
///       --filter ImageMemoryProbeTests
final class ImageMemoryProbeTests: XCTestCase {
    func testPeakMemoryOfLoadAndPreprocess() throws {
        guard let path = ProcessInfo.processInfo.environment["WINCLIP_MEMORY_PROBE"] else {
            throw XCTSkip("set WINCLIP_MEMORY_PROBE=/path/to/image to measure")
        }
        let size = Int(ProcessInfo.processInfo.environment["WINCLIP_MEMORY_PROBE_SIZE"] ?? "240") ?? 240
        let start = Self.residentKiB()
        let image = try ImageLoader.load(path: path, options: ImageDecodeOptions(limits: ImageLimits(maxFileBytes: Int.max, maxPixels: Int.max)))
        let loaded = Self.residentKiB()
        let tensor = CLIPPreprocess(imageSize: size)(image)
        let done = Self.residentKiB()
        XCTAssertEqual(tensor.count, 3 * size * size)
        let mib = { (kib: Int) in String(format: "%.0f MiB", Double(kib) / 1024) }
        print("memory probe \(image.width)x\(image.height) \(path): peak at start \(mib(start.peak)), "
              + "after load \(mib(loaded.peak)) (resident \(mib(loaded.now))), after preprocess \(mib(done.peak)); "
              + "RGB pixels \(mib(image.pixels.count / 1024))")
    }

    /// (VmHWM, VmRSS) of this process in KiB, from /proc/self/status.
    static func residentKiB() -> (peak: Int, now: Int) {
        // /proc files report size 0, so read them line by line rather than by their size.
        guard let file = fopen("/proc/self/status", "r") else { return (0, 0) }
        defer { fclose(file) }
        var peak = 0, now = 0
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(cString: line)
            let value = Int(text.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
            if text.hasPrefix("VmHWM:") { peak = value }
            if text.hasPrefix("VmRSS:") { now = value }
        }
        return (peak, now)
    }
}
