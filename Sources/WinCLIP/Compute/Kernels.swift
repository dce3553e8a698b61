import Foundation

/// Element-wise and row-wise kernels of the transformer (everything that is not a GEMM).
enum Kernels {
    /// y[r, :] = LayerNorm(x[r, :]) * weight + bias, eps 1e-5 as torch.nn.LayerNorm; in place allowed.
    static func layerNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, width: Int, _ w: LayerNormWeights, eps: Float = 1e-5) {
        w.weight.withUnsafeBufferPointer { gamma in
            w.bias.withUnsafeBufferPointer { beta in
                for r in 0..<rows {
                    let xr = x + r * width, yr = y + r * width
                    var sum: Double = 0
                    for i in 0..<width { sum += Double(xr[i]) }
                    let mean = sum / Double(width)
                    var sq: Double = 0
                    for i in 0..<width { let d = Double(xr[i]) - mean; sq += d * d }
                    let rstd = Float(1 / (sq / Double(width) + Double(eps)).squareRoot())
                    let m = Float(mean)
                    for i in 0..<width { yr[i] = (xr[i] - m) * rstd * gamma[i] + beta[i] }
                }
            }
        }
    }

    /// Exact GELU, x * Phi(x) (torch.nn.GELU default).
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            x[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752))
        }
    }

    /// open_clip's QuickGELU, x * sigmoid(1.702 x).
    static func quickGELU(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            x[i] = v / (1 + expf(-1.702 * v))
        }
    }

    /// x[r, :] += bias for every row.
    static func addBias(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, _ bias: UnsafePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * width
            for i in 0..<width { xr[i] += bias[i] }
        }
    }

    /// x += y (or x += gamma * y per column, for LayerScale).
    static func addResidual(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, rows: Int, width: Int, gamma: [Float]?) {
        if let gamma {
            gamma.withUnsafeBufferPointer { g in
                for r in 0..<rows {
                    let xr = x + r * width, yr = y + r * width
                    for i in 0..<width { xr[i] += g[i] * yr[i] }
                }
            }
        } else {
            for i in 0..<(rows * width) { x[i] += y[i] }
        }
    }

    /// Softmax of one row in place, over the first `valid` entries; entries past it become 0.
    static func softmaxRow(_ s: UnsafeMutablePointer<Float>, count: Int, valid: Int) {
        var mx = -Float.infinity
        for j in 0..<valid { mx = max(mx, s[j]) }
        var sum: Float = 0
        for j in 0..<valid { let e = expf(s[j] - mx); s[j] = e; sum += e }
        let inv = 1 / sum
        for j in 0..<valid { s[j] *= inv }
        for j in valid..<count { s[j] = 0 }
    }
}
