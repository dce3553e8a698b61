/// torch.nn.functional.interpolate(mode="bilinear", align_corners=False) of one [inH, inW]
/// plane to [outH, outW] (upsampling or downsampling without antialias).
public enum BilinearUpsample {
    public static func resize(_ input: [Float], inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int) -> [Float] {
        precondition(input.count == inHeight * inWidth)
        func taps(_ outSize: Int, _ inSize: Int) -> [(i0: Int, i1: Int, w0: Float, w1: Float)] {
            let scale = Float(inSize) / Float(outSize)
            return (0..<outSize).map { o in
                // area_pixel_compute_source_index with align_corners=False, clamped at 0.
                var src = scale * (Float(o) + 0.5) - 0.5
                if src < 0 { src = 0 }
                let i0 = min(Int(src), inSize - 1)
                let i1 = i0 < inSize - 1 ? i0 + 1 : i0
                let l1 = src - Float(i0)
                return (i0, i1, 1 - l1, l1)
            }
        }
        let ys = taps(outHeight, inHeight), xs = taps(outWidth, inWidth)
        var out = [Float](repeating: 0, count: outHeight * outWidth)
        for (oy, ty) in ys.enumerated() {
            for (ox, tx) in xs.enumerated() {
                let a = input[ty.i0 * inWidth + tx.i0], b = input[ty.i0 * inWidth + tx.i1]
                let c = input[ty.i1 * inWidth + tx.i0], d = input[ty.i1 * inWidth + tx.i1]
                out[oy * outWidth + ox] = ty.w0 * (tx.w0 * a + tx.w1 * b) + ty.w1 * (tx.w0 * c + tx.w1 * d)
            }
        }
        return out
    }
}
