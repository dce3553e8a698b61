/// Samples of one range of scores, sorted in memory and fed to a `ThresholdSweep` threshold by
/// threshold. Normal samples are their rank (see `ScoreRank`); anomalous ones their rank in the
/// high word and the float32 bits of their region share in the low word (0: in no region).
struct SortedBatch {
    var normals: [UInt32] = []
    var anomalous: [UInt64] = []
    private var normalScratch: [UInt32] = []
    private var anomalousScratch: [UInt64] = []

    var count: Int { normals.count + anomalous.count }

    mutating func removeAll() {
        normals.removeAll(keepingCapacity: true)
        anomalous.removeAll(keepingCapacity: true)
    }

    /// Sorts both arrays by rank (ascending rank: descending score) and gives the sweep one
    /// threshold per distinct rank.
    mutating func sortAndSweep(into sweep: inout ThresholdSweep) {
        RadixSort.sort(&normals, scratch: &normalScratch, digits: RadixSort.rank32)
        RadixSort.sort(&anomalous, scratch: &anomalousScratch, digits: RadixSort.rank64)
        let shares = sweep.needsRegionShares
        normals.withUnsafeBufferPointer { n in
            anomalous.withUnsafeBufferPointer { a in
                var i = 0, j = 0
                while i < n.count || j < a.count {
                    let rank: UInt32
                    if j == a.count || (i < n.count && n[i] <= UInt32(truncatingIfNeeded: a[j] >> 32)) {
                        rank = n[i]
                    } else {
                        rank = UInt32(truncatingIfNeeded: a[j] >> 32)
                    }
                    var t = ThresholdSweep.Threshold(score: ScoreRank.score(rank))
                    let i0 = i
                    while i < n.count && n[i] == rank { i += 1 }
                    t.normals = i - i0
                    let j0 = j
                    let high = UInt64(rank) << 32
                    if shares {
                        while j < a.count && a[j] & 0xffff_ffff_0000_0000 == high {
                            let bits = UInt32(truncatingIfNeeded: a[j])
                            if bits == 0 { t.regionless += 1 } else { t.shares.add(shareBits: bits) }
                            j += 1
                        }
                    } else {
                        while j < a.count && a[j] & 0xffff_ffff_0000_0000 == high { j += 1 }
                    }
                    t.anomalous = j - j0
                    sweep.add(t)
                }
            }
        }
    }
}

/// Stable LSD radix sort of unsigned keys by some of their bits, with one scratch buffer that
/// is kept between calls. A digit that is the same for every key is skipped.
enum RadixSort {
    /// A digit: `bits` bits starting at bit `shift`, least significant digit first.
    typealias Digit = (shift: Int, bits: Int)

    /// All 32 bits of a rank.
    static let rank32: [Digit] = [(0, 11), (11, 11), (22, 10)]
    /// The rank in the high word of a 64-bit key.
    static let rank64: [Digit] = [(32, 11), (43, 11), (54, 10)]

    static func sort<Key: FixedWidthInteger & UnsignedInteger>(_ keys: inout [Key], scratch: inout [Key], digits: [Digit]) {
        let n = keys.count
        guard n > 1 else { return }
        precondition((1...3).contains(digits.count) && digits.allSatisfy { $0.bits <= 11 })
        if scratch.count < n { scratch = [Key](repeating: 0, count: n) }
        let radix = 1 << 11
        // Every digit's histogram in one read (reordering does not change them); unused digits
        // count into histogram 0 with a zero mask, and are never used.
        let shifts = (0..<3).map { $0 < digits.count ? Key(digits[$0].shift) : 0 }
        let masks = (0..<3).map { $0 < digits.count ? Key((1 << digits[$0].bits) - 1) : 0 }
        let (s0, s1, s2) = (shifts[0], shifts[1], shifts[2])
        let (m0, m1, m2) = (masks[0], masks[1], masks[2])
        var histograms = [Int](repeating: 0, count: 3 * radix)
        var inScratch = false  // whether the latest order is in `scratch`
        keys.withUnsafeMutableBufferPointer { k in
            scratch.withUnsafeMutableBufferPointer { s in
                histograms.withUnsafeMutableBufferPointer { h in
                    for i in 0..<n {
                        let key = k[i]
                        h[Int(truncatingIfNeeded: (key &>> s0) & m0)] += 1
                        h[radix + Int(truncatingIfNeeded: (key &>> s1) & m1)] += 1
                        h[2 * radix + Int(truncatingIfNeeded: (key &>> s2) & m2)] += 1
                    }
                    for p in digits.indices {
                        let src = inScratch ? s : k, dst = inScratch ? k : s
                        let mask = masks[p], shift = shifts[p]
                        let base = p * radix
                        if h[base + Int(truncatingIfNeeded: (src[0] &>> shift) & mask)] == n { continue }  // one value: nothing to do
                        var offset = 0
                        for d in base..<(base + Int(mask) + 1) {
                            let c = h[d]
                            h[d] = offset
                            offset += c
                        }
                        for i in 0..<n {
                            let key = src[i]
                            let d = base + Int(truncatingIfNeeded: (key &>> shift) & mask)
                            dst[h[d]] = key
                            h[d] += 1
                        }
                        inScratch.toggle()
                    }
                }
                if inScratch {
                    k.baseAddress!.update(from: s.baseAddress!, count: n)
                }
            }
        }
    }
}
