/// CLIP image preprocessing, equal to float32 rounding to the torchvision v2 pipeline
/// `ToImage()` → `ToDtype(float32, scale=True)` → `Resize((S, S), BICUBIC, antialias=True)` →
/// `Normalize(mean, std)` applied to Pillow's `convert("RGB")` pixels. The aspect ratio is not
/// kept (both sides become S) and nothing is cropped.
public struct CLIPPreprocess: Sendable {
    /// OpenAI CLIP's normalisation constants, rounded from double to float as torch does
    /// (`torch.as_tensor(python_floats, dtype=float32)`).
    public static let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073].map { (v: Double) in Float(v) }
    public static let clipStd: [Float] = [0.26862954, 0.26130258, 0.27577711].map { (v: Double) in Float(v) }

    public let imageSize: Int
    public let mean: [Float]
    public let std: [Float]
    /// uint8 → float as torchvision's `to_dtype_image`: `x.to(float32).mul_(1.0 / 255)`,
    /// i.e. a multiplication by float32(1/255), not a division by 255.
    private let unitScale: [Float]

    public init(imageSize: Int, mean: [Float] = CLIPPreprocess.clipMean, std: [Float] = CLIPPreprocess.clipStd) {
        precondition(imageSize > 0, "CLIPPreprocess: imageSize must be positive")
        precondition(mean.count == 3 && std.count == 3, "CLIPPreprocess: mean and std need 3 values")
        self.imageSize = imageSize
        self.mean = mean
        self.std = std
        let scale = Float(1.0 / 255.0)
        unitScale = (0..<256).map { Float($0) * scale }
    }

    /// The normalised image, planar float32 [3, imageSize, imageSize].
    ///
    /// The width pass reads the uint8 pixels one row at a time, so the float image is never held
    /// whole: peak memory is the [3, height, imageSize] intermediate (37 MB for a 13,000-pixel-high
    /// image at 240) instead of 12 bytes per input pixel. The values and their rounding are those
    /// of converting the whole image first and resizing (`BicubicResize.resize`).
    public func callAsFunction(_ image: RGBImage) -> [Float] {
        let w = image.width, h = image.height, size = imageSize
        precondition(w > 0 && h > 0, "CLIPPreprocess: empty image")
        // HWC uint8 → CHW float in [0, 1], resampled along the width when it changes: [3, h, size].
        var rows: [Float]
        if w != size {
            let taps = BicubicResize.Taps(inSize: w, outSize: size)
            rows = [Float](repeating: 0, count: 3 * h * size)
            var line = [Float](repeating: 0, count: 3 * w)
            image.pixels.withUnsafeBufferPointer { src in
                unitScale.withUnsafeBufferPointer { lut in
                    line.withUnsafeMutableBufferPointer { line in
                        rows.withUnsafeMutableBufferPointer { dst in
                            taps.weights.withUnsafeBufferPointer { weights in
                                taps.start.withUnsafeBufferPointer { starts in
                                    taps.count.withUnsafeBufferPointer { counts in
                                        for y in 0..<h {
                                            let pixel = src.baseAddress! + y * w * 3
                                            for x in 0..<w {
                                                line[x] = lut[Int(pixel[3 * x])]
                                                line[w + x] = lut[Int(pixel[3 * x + 1])]
                                                line[2 * w + x] = lut[Int(pixel[3 * x + 2])]
                                            }
                                            for c in 0..<3 {
                                                BicubicResize.resampleRow(line.baseAddress! + c * w, into: dst.baseAddress! + (c * h + y) * size,
                                                                          outSize: size, maxTaps: taps.maxTaps, weights: weights.baseAddress!,
                                                                          starts: starts.baseAddress!, counts: counts.baseAddress!)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        } else {
            let plane = w * h
            rows = [Float](repeating: 0, count: 3 * plane)
            image.pixels.withUnsafeBufferPointer { src in
                unitScale.withUnsafeBufferPointer { lut in
                    rows.withUnsafeMutableBufferPointer { dst in
                        for i in 0..<plane {
                            dst[i] = lut[Int(src[3 * i])]
                            dst[plane + i] = lut[Int(src[3 * i + 1])]
                            dst[2 * plane + i] = lut[Int(src[3 * i + 2])]
                        }
                    }
                }
            }
        }
        var out = h == size ? rows : BicubicResize.vertical(rows, channels: 3, width: size, taps: BicubicResize.Taps(inSize: h, outSize: size))
        // Normalize: (x - mean) / std in float32, per channel.
        let n = size * size
        out.withUnsafeMutableBufferPointer { buf in
            for c in 0..<3 {
                let m = mean[c], s = std[c]
                let base = buf.baseAddress! + c * n
                for i in 0..<n { base[i] = (base[i] - m) / s }
            }
        }
        return out
    }
}
