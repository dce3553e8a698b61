/// Vectorised exp and erf for the MLP activation, which otherwise costs as much as the
/// window passes' GEMMs (tens of millions of libm calls per image).
///
/// erf follows PyTorch's own vectorised CPU kernel (Abramowitz & Stegun 7.1.26, absolute
/// error below 1.5e-7), so GELU here agrees with torch.nn.GELU to float rounding.
enum VectorMath {
    typealias V = SIMD16<Float>

    /// exp(x) for a vector: Cody-Waite reduction and Cephes' degree-6 polynomial (about 1 ulp).
    /// n = round(x / ln 2) comes from adding 1.5 * 2^23, which leaves n in the low mantissa
    /// bits; that avoids float-to-int conversions, which Swift does not vectorise.
    @inline(__always)
    static func exp(_ x: V) -> V {
        let clamped = x.clamped(lowerBound: V(repeating: -87.3), upperBound: V(repeating: 88.3))
        let magic: Float = 12_582_912  // 1.5 * 2^23, bit pattern 0x4B40_0000
        let shifted = clamped * 1.44269504088896341 + magic
        let n = shifted - magic
        var r = clamped - n * 0.693359375
        r = r - n * -2.12194440e-4
        var p = V(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * (r * r) + r + 1
        let bits = ((unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000) &+ 127) &<< 23
        return y * unsafeBitCast(bits, to: V.self)
    }

    @inline(__always)
    static func erf(_ x: V) -> V {
        let a = x.replacing(with: -x, where: x .< 0)
        let t = 1 / (a * 0.3275911 + 1)
        var poly = V(repeating: 1.061405429)
        poly = poly * t + -1.453152027
        poly = poly * t + 1.421413741
        poly = poly * t + -0.284496736
        poly = poly * t + 0.254829592
        let r = 1 - poly * t * exp(-(a * a))
        return r.replacing(with: -r, where: x .< 0)
    }

    /// Exact GELU in place (the C kernel: Swift's SIMD types compile to baseline SSE here).
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) { winclip_gelu(x, count) }

    /// QuickGELU in place, x sigmoid(1.702 x) (the C kernel).
    static func quickGELU(_ x: UnsafeMutablePointer<Float>, count: Int) { winclip_quick_gelu(x, count) }

    /// Exact GELU in place: 0.5 x (1 + erf(x / sqrt 2)), Swift SIMD version (reference for tests).
    static func geluSIMD(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let raw = UnsafeMutableRawPointer(x)
        while i + 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            let y = 0.5 * v * (1 + erf(v * 0.70710678118654752))
            raw.storeBytes(of: y, toByteOffset: i * 4, as: V.self)
            i += 16
        }
        while i < count {
            var tail = V(repeating: 0)
            let n = min(16, count - i)
            for j in 0..<n { tail[j] = x[i + j] }
            let y = 0.5 * tail * (1 + erf(tail * 0.70710678118654752))
            for j in 0..<n { x[i + j] = y[j] }
            i += n
        }
    }

    /// QuickGELU in place: x sigmoid(1.702 x), Swift SIMD version.
    static func quickGELUSIMD(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let raw = UnsafeMutableRawPointer(x)
        while i + 16 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            raw.storeBytes(of: v / (1 + exp(-1.702 * v)), toByteOffset: i * 4, as: V.self)
            i += 16
        }
        while i < count {
            x[i] = x[i] / (1 + expf(-1.702 * x[i]))
            i += 1
        }
    }
}

import CKernels
import Foundation
