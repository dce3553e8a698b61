/// Antialiased bicubic resampling of planar float images, reproducing torch's CPU kernel
/// `_upsample_bicubic2d_aa` (what `F.interpolate(mode="bicubic", antialias=True,
/// align_corners=False)` and torchvision's `Resize(..., BICUBIC, antialias=True)` run on float
/// tensors) bit for bit on float32: Pillow-style cubic filter with a = -0.5 whose support grows
/// with the down-scale factor, weights computed in float32 with torch's mixed float/double
/// expressions and normalised per output sample, applied as two separable passes — width first,
/// then height, each skipped when that size is unchanged. No clamping: overshoot past [0, 1] is kept.
///
/// Rounding follows the x86-64 torch 2.x wheels (checked on torch 2.15, AVX512 kernels) where
/// GCC contracted parts of the C++ into fused multiply-adds: the cubic polynomial is evaluated
/// with FMAs, and each weighted sum `out = t0*w0; out += tj*wj ...` adds taps 1... in groups of
/// four as separate multiply and add while four remain, then fuses the last (at most three).
/// Other torch builds round differently by a few float32 ulps.
public enum BicubicResize {
    /// Resampling weights of one axis: output `i` reads `count[i]` inputs starting at `start[i]`,
    /// with weights `weights[i * maxTaps ..< i * maxTaps + count[i]]`.
    public struct Taps: Sendable {
        public let inSize: Int
        public let outSize: Int
        public let maxTaps: Int
        public let start: [Int]
        public let count: [Int]
        public let weights: [Float]

        public init(inSize: Int, outSize: Int) {
            precondition(inSize > 0 && outSize > 0, "BicubicResize: sizes must be positive")
            self.inSize = inSize
            self.outSize = outSize
            // area_pixel_compute_scale<float>: float(input_size) / output_size.
            let scale = Float(inSize) / Float(outSize)
            // support = (scale >= 1.0) ? (interp_size * 0.5) * scale : interp_size * 0.5, stored as float.
            let support: Float = scale >= 1 ? Float(2.0 * Double(scale)) : 2
            let maxTaps = Int(support.rounded(.up)) * 2 + 1
            let invscale: Float = scale >= 1 ? Float(1.0 / Double(scale)) : 1
            var start = [Int](repeating: 0, count: outSize)
            var count = [Int](repeating: 0, count: outSize)
            var weights = [Float](repeating: 0, count: outSize * maxTaps)
            for i in 0..<outSize {
                // center = scale * (i + 0.5): float promoted to double, rounded back to float.
                let center = Float(Double(scale) * (Double(i) + 0.5))
                // static_cast<int64_t>(center -/+ support + 0.5): float sum, then + 0.5 in double, truncated.
                let xmin = max(Int(Double(center - support) + 0.5), 0)
                let xsize = min(max(min(Int(Double(center + support) + 0.5), inSize) - xmin, 0), maxTaps)
                var total: Float = 0
                for j in 0..<xsize {
                    // filter_fn((j + xmin - center + 0.5) * invscale): (int - float) in float, the rest in double.
                    let x = Float((Double(Float(j + xmin) - center) + 0.5) * Double(invscale))
                    let w = BicubicResize.cubic(x)
                    weights[i * maxTaps + j] = w
                    total += w
                }
                if total != 0 {
                    for j in 0..<xsize { weights[i * maxTaps + j] /= total }
                }
                start[i] = xmin
                count[i] = xsize
            }
            self.maxTaps = maxTaps
            self.start = start
            self.count = count
            self.weights = weights
        }
    }

    /// Keys' cubic convolution kernel with a = -0.5 (Pillow's bicubic), in float32 as torch's
    /// `aa_filter<float>` is compiled: `((a + 2) * x - (a + 3)) * x * x + 1` and
    /// `((a * x - 5 * a) * x + 8 * a) * x - 4 * a` with their multiply-adds fused.
    @inline(__always)
    public static func cubic(_ value: Float) -> Float {
        let a: Float = -0.5
        let x = abs(value)
        if x < 1 {
            let t = (-(a + 3)).addingProduct(a + 2, x) * x
            return Float(1).addingProduct(t, x)
        }
        if x < 2 {
            let t = (-5 * a).addingProduct(a, x)
            let u = (8 * a).addingProduct(t, x)
            return (-4 * a).addingProduct(u, x)
        }
        return 0
    }

    /// `sum_j p[j * stride] * w[j]` for j < n (n >= 1) in torch's rounding order: the first
    /// product, then blocks of four unfused multiply-adds while four taps remain, then fused ones.
    @inline(__always)
    package static func dot(_ p: UnsafePointer<Float>, stride: Int, _ w: UnsafePointer<Float>, _ n: Int) -> Float {
        var sum = p[0] * w[0]
        var j = 1
        while j + 4 <= n {
            sum += p[j * stride] * w[j]
            sum += p[(j + 1) * stride] * w[j + 1]
            sum += p[(j + 2) * stride] * w[j + 2]
            sum += p[(j + 3) * stride] * w[j + 3]
            j += 4
        }
        while j < n {
            sum = sum.addingProduct(p[j * stride], w[j])
            j += 1
        }
        return sum
    }

    /// Resizes `input`, planar [channels, height, width] float32, to [channels, outHeight, outWidth].
    public static func resize(_ input: [Float], channels: Int, height: Int, width: Int,
                              outHeight: Int, outWidth: Int) -> [Float] {
        precondition(channels >= 0 && height > 0 && width > 0 && outHeight > 0 && outWidth > 0,
                     "BicubicResize: sizes must be positive")
        precondition(input.count == channels * height * width, "BicubicResize: \(input.count) values for [\(channels), \(height), \(width)]")
        var current = input
        if outWidth != width {
            current = horizontal(current, planes: channels * height, taps: Taps(inSize: width, outSize: outWidth))
        }
        if outHeight != height {
            current = vertical(current, channels: channels, width: outWidth, taps: Taps(inSize: height, outSize: outHeight))
        }
        return current
    }

    /// Resamples along the contiguous axis: `input` is `rows` rows of `taps.inSize` values.
    public static func horizontal(_ input: [Float], planes rows: Int, taps: Taps) -> [Float] {
        let inW = taps.inSize, outW = taps.outSize, maxTaps = taps.maxTaps
        precondition(input.count == rows * inW)
        var output = [Float](repeating: 0, count: rows * outW)
        input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                taps.weights.withUnsafeBufferPointer { wts in
                    taps.start.withUnsafeBufferPointer { starts in
                        taps.count.withUnsafeBufferPointer { counts in
                            for r in 0..<rows {
                                resampleRow(src.baseAddress! + r * inW, into: dst.baseAddress! + r * outW, outSize: outW,
                                            maxTaps: maxTaps, weights: wts.baseAddress!, starts: starts.baseAddress!, counts: counts.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// One row of `horizontal`: `outSize` outputs from `row` with the taps' weights.
    @inline(__always)
    package static func resampleRow(_ row: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, outSize: Int, maxTaps: Int,
                            weights: UnsafePointer<Float>, starts: UnsafePointer<Int>, counts: UnsafePointer<Int>) {
        for o in 0..<outSize {
            let n = counts[o]
            out[o] = n > 0 ? dot(row + starts[o], stride: 1, weights + o * maxTaps, n) : 0
        }
    }

    /// Resamples along the row axis of planar [channels, taps.inSize, width] data.
    public static func vertical(_ input: [Float], channels: Int, width: Int, taps: Taps) -> [Float] {
        let inH = taps.inSize, outH = taps.outSize, maxTaps = taps.maxTaps
        precondition(input.count == channels * inH * width)
        var output = [Float](repeating: 0, count: channels * outH * width)
        input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                taps.weights.withUnsafeBufferPointer { wts in
                    for c in 0..<channels {
                        let plane = src.baseAddress! + c * inH * width
                        for o in 0..<outH {
                            let out = dst.baseAddress! + (c * outH + o) * width
                            let n = taps.count[o]
                            guard n > 0 else { continue }  // all-zero row (never happens for valid sizes)
                            let w = wts.baseAddress! + o * maxTaps
                            // Row by row, in the same per-element rounding order as `dot`.
                            let first = plane + taps.start[o] * width
                            let w0 = w[0]
                            for x in 0..<width { out[x] = first[x] * w0 }
                            var j = 1
                            while j + 4 <= n {
                                let r0 = plane + (taps.start[o] + j) * width
                                let r1 = r0 + width, r2 = r1 + width, r3 = r2 + width
                                let w0 = w[j], w1 = w[j + 1], w2 = w[j + 2], w3 = w[j + 3]
                                for x in 0..<width {
                                    var v = out[x]
                                    v += r0[x] * w0
                                    v += r1[x] * w1
                                    v += r2[x] * w2
                                    v += r3[x] * w3
                                    out[x] = v
                                }
                                j += 4
                            }
                            while j < n {
                                let rowJ = plane + (taps.start[o] + j) * width
                                let wj = w[j]
                                for x in 0..<width { out[x] = out[x].addingProduct(rowJ[x], wj) }
                                j += 1
                            }
                        }
                    }
                }
            }
        }
        return output
    }
}
