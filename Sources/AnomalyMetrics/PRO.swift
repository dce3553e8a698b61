/// Area under the per-region overlap curve, as anomalib's `AUPRO` (anomalib 2.x, CPU).
///
/// anomalib's recipe (metrics/aupro.py, `compute_pro` and `compute`):
/// 1. label the ground-truth masks of all images with `cv2.connectedComponents` (8-connected),
///    each region with its own id across the images. Quirk, mirrored: anomalib keeps the labels
///    of `np.unique(comps)[1:]`, assuming the first is the background, so an image whose mask is
///    anomalous everywhere gets no region and its pixels count as *normal* pixels in AUPRO (they
///    stay anomalous for pixel AUROC and F1Max);
/// 2. sort all pixels of all images by score, descending; at each distinct score (ties are one
///    threshold) FPR = normal pixels above / all normal pixels, and PRO = the mean over regions of
///    the fraction of the region above the threshold (each region pixel adds 1 / its region size);
/// 3. keep the curve up to FPR = `fprLimit`, linearly interpolating the point at the limit unless a
///    threshold lands on it exactly; trapezoidal area, divided by the last FPR (the limit).
///
/// The curve points are rounded to float32 as torch does (the counts, and the running sum of the
/// float32 shares 1 / size, are rounded to float32; the limit is float32(0.3) and the
/// interpolation is done in float32); only the area is summed in Double. The running sum is exact
/// here (`RegionShareSum`), where torch accumulates it in double.
extension AnomalyMetrics {
    /// anomalib's AUPRO for one anomaly map and one ground-truth mask per image (row-major,
    /// `width` x `height` each, all images together).
    /// - Returns: nil when there is no anomalous region (anomalib returns 0), no normal pixel
    ///   (anomalib returns 0), no pixel at all, or `fprLimit` <= 0. (A single image whose mask is
    ///   all anomalous has no region by the quirk above, hence nil.)
    /// - Throws: `PixelMetricsError` when the counts or sizes of maps and masks disagree.
    public static func aupro(maps: [[Float]], masks: [[Bool]], width: Int, height: Int,
                             fprLimit: Double = 0.3) throws -> Double? {
        try pixelMetrics(maps: maps, masks: masks, width: width, height: height, fprLimit: fprLimit).aupro
    }

    /// Pixel AUROC, F1Max and AUPRO of maps and masks held in memory: the accumulator without a
    /// spill directory.
    public static func pixelMetrics(maps: [[Float]], masks: [[Bool]], width: Int, height: Int,
                                    fprLimit: Double = 0.3) throws -> PixelMetrics {
        guard maps.count == masks.count else {
            throw PixelMetricsError("\(maps.count) maps but \(masks.count) masks")
        }
        let accumulator = try PixelMetricsAccumulator(width: width, height: height, spillDirectory: nil, fprLimit: fprLimit)
        for (map, mask) in zip(maps, masks) { try accumulator.add(map: map, mask: mask) }
        return try accumulator.finish()
    }
}

/// AUPRO's curve, threshold by threshold from the highest score, up to the FPR limit.
struct PROArea {
    // float32 state as in torch: the counts, the limit.
    private let normalCount: Float
    private let regionCount: Float
    private let limit: Float

    private var fp = 0
    private var shares = RegionShareSum()
    private var previous: (fpr: Float, pro: Float) = (0, 0)  // the prepended (0, 0)
    private var area = 0.0
    private var end: Float? = nil  // the curve's last FPR once the limit is reached

    /// nil when AUPRO is undefined: no region, no normal pixel (normal or regionless), or a
    /// non-positive limit.
    init?(totals: ThresholdSweep.Totals, fprLimit: Double) {
        let normal = totals.normals + totals.regionless
        guard totals.regions > 0, normal > 0, fprLimit > 0 else { return nil }
        normalCount = Float(normal)
        regionCount = Float(totals.regions)
        limit = Float(fprLimit)
    }

    /// Whether the limit is not yet reached.
    var isOpen: Bool { end == nil }

    /// One threshold: `normals` normal (or regionless) pixels and the shares of its region pixels.
    mutating func add(normals: Int, shares: RegionShareSum) {
        guard end == nil else { return }
        fp += normals
        self.shares.add(shares)
        let fpr = min(Float(fp) / normalCount, 1)
        let pro = min(Float(self.shares.value) / regionCount, 1)
        if fpr <= limit {
            area += trapezoid(previous, (fpr, pro))
            previous = (fpr, pro)
        } else {
            // The first point past the limit: stop at the limit.
            if previous.fpr < limit {
                let (f1, p1) = previous
                let interpolated = p1 + (pro - p1) * (limit - f1) / (fpr - f1)
                area += trapezoid(previous, (limit, interpolated))
                end = limit
            } else {
                end = previous.fpr
            }
        }
    }

    func result() -> Double {
        // Limit never passed (fprLimit >= 1): the curve ends at its last point.
        area / Double(end ?? previous.fpr)
    }

    @inline(__always)
    private func trapezoid(_ a: (fpr: Float, pro: Float), _ b: (fpr: Float, pro: Float)) -> Double {
        (Double(b.fpr) - Double(a.fpr)) * (Double(a.pro) + Double(b.pro)) / 2
    }
}
