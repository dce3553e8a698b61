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
    public func callAsFunction(_ image: RGBImage) -> [Float] {
        let w = image.width, h = image.height, plane = w * h
        precondition(w > 0 && h > 0, "CLIPPreprocess: empty image")
        // HWC uint8 → CHW float in [0, 1].
        var chw = [Float](repeating: 0, count: 3 * plane)
        image.pixels.withUnsafeBufferPointer { src in
            unitScale.withUnsafeBufferPointer { lut in
                chw.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<plane {
                        dst[i] = lut[Int(src[3 * i])]
                        dst[plane + i] = lut[Int(src[3 * i + 1])]
                        dst[2 * plane + i] = lut[Int(src[3 * i + 2])]
                    }
                }
            }
        }
        var out = BicubicResize.resize(chw, channels: 3, height: h, width: w, outHeight: imageSize, outWidth: imageSize)
        // Normalize: (x - mean) / std in float32, per channel.
        let n = imageSize * imageSize
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
