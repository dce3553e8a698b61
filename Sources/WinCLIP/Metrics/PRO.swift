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
/// The curve points are rounded to float32 exactly as torch does (the counts and the running
/// sum of 1 / size are float32 values from a double accumulator, the limit is float32(0.3) and
/// the interpolation is done in float32); only the area is summed in Double.
extension AnomalyMetrics {
    /// anomalib's AUPRO for one anomaly map and one ground-truth mask per image (row-major,
    /// `width` x `height` each, all images together).
    /// - Returns: nil when there is no anomalous region (anomalib returns 0), no normal pixel
    ///   (anomalib returns 0), no pixel at all, or `fprLimit` <= 0. (A single image whose mask is
    ///   all anomalous has no region by the quirk above, hence nil.)
    public static func aupro(maps: [[Float]], masks: [[Bool]], width: Int, height: Int,
                             fprLimit: Double = 0.3) -> Double? {
        let (ranking, regions) = pixelRanking(maps: maps, masks: masks, width: width, height: height)
        return ranking.aupro(regions: regions, fprLimit: fprLimit)
    }

    /// Ranks every pixel of every image once, tagged with its global region id (0 = normal,
    /// `RegionTable.regionless` = anomalous but in no region), and returns the regions. The same
    /// ranking gives pixel AUROC and F1Max (a pixel is anomalous when its tag is not 0).
    static func pixelRanking(maps: [[Float]], masks: [[Bool]], width: Int, height: Int) -> (ScoreRanking, RegionTable) {
        precondition(maps.count == masks.count, "AnomalyMetrics: \(maps.count) maps but \(masks.count) masks")
        precondition(width >= 0 && height >= 0)
        let pixels = width * height
        for (i, (map, mask)) in zip(maps, masks).enumerated() {
            precondition(map.count == pixels && mask.count == pixels,
                         "AnomalyMetrics: image \(i) has a map of \(map.count) and a mask of \(mask.count) values, expected \(width) x \(height)")
        }
        var table = RegionTable()
        var labels = [Int32](repeating: 0, count: pixels)
        var parent: [Int32] = []
        let ranking = ScoreRanking(count: maps.count * pixels) { out in
            for (image, (map, mask)) in zip(maps, masks).enumerated() {
                let offset = table.sizes.count - 1
                let regions = mask.withUnsafeBufferPointer { m in
                    labels.withUnsafeMutableBufferPointer { l in
                        ConnectedComponents.label(mask: m, width: width, height: height, connectivity: .eight,
                                                  into: l, parent: &parent)
                    }
                }
                let base = image * pixels
                if regions == 1 && !mask.contains(false) {
                    // anomalib's quirk: a mask without background yields no region.
                    map.withUnsafeBufferPointer { s in
                        for i in 0..<pixels { out[base + i] = ScoreRanking.key(score: s[i], tag: RegionTable.regionless) }
                    }
                    table.regionlessPixels += pixels
                    continue
                }
                table.sizes.append(contentsOf: repeatElement(0, count: regions))
                map.withUnsafeBufferPointer { s in
                    labels.withUnsafeBufferPointer { l in
                        table.sizes.withUnsafeMutableBufferPointer { sizes in
                            for i in 0..<pixels {
                                var tag: UInt32 = 0
                                if l[i] != 0 {
                                    let region = offset + Int(l[i])
                                    sizes[region] += 1
                                    tag = UInt32(region)
                                }
                                out[base + i] = ScoreRanking.key(score: s[i], tag: tag)
                            }
                        }
                    }
                }
            }
        }
        precondition(table.sizes.count < Int(RegionTable.regionless), "AnomalyMetrics: too many regions")
        return (ranking, table)
    }
}

/// The ground-truth regions of a pixel ranking.
struct RegionTable {
    /// Pixels of region id `i` at `sizes[i]`; `sizes[0]` (the background) is unused.
    var sizes: [Int] = [0]
    /// Anomalous pixels of masks without background, which anomalib's AUPRO counts as normal.
    var regionlessPixels = 0
    /// Their tag in the ranking.
    static let regionless = UInt32.max
    var regionCount: Int { sizes.count - 1 }
}

extension ScoreRanking {
    /// AUPRO from a ranking whose tags are the region ids of `regions`.
    func aupro(regions table: RegionTable, fprLimit: Double) -> Double? {
        let regions = table.regionCount
        let normal = negatives + table.regionlessPixels
        guard regions > 0, normal > 0, fprLimit > 0 else { return nil }
        // float32 state as in torch: 1 / size per region pixel, the counts, the limit.
        let increments = table.sizes.map { $0 > 0 ? Double(Float(1) / Float($0)) : 0 }
        let normalCount = Float(normal)
        let regionCount = Float(regions)
        let limit = Float(fprLimit)

        var fp = 0
        var overlapSum = 0.0  // torch's cumsum accumulates float32 values in double
        var previous: (fpr: Float, pro: Float) = (0, 0)  // the prepended (0, 0)
        var area = 0.0
        var end: Float? = nil  // the curve's last FPR once the limit is reached

        increments.withUnsafeBufferPointer { inc in
            keys.withUnsafeBufferPointer { k in
                forEachThresholdDescending { _, range in
                    guard end == nil else { return }
                    for i in range {
                        let tag = Int(UInt32(truncatingIfNeeded: k[i]))
                        if tag == 0 || tag == Int(RegionTable.regionless) { fp += 1 } else { overlapSum += inc[tag] }
                    }
                    let fpr = min(Float(fp) / normalCount, 1)
                    let pro = min(Float(overlapSum) / regionCount, 1)
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
            }
        }
        // Limit never passed (fprLimit >= 1): the curve ends at its last point.
        let last = end ?? previous.fpr
        return area / Double(last)
    }

    @inline(__always)
    private func trapezoid(_ a: (fpr: Float, pro: Float), _ b: (fpr: Float, pro: Float)) -> Double {
        (Double(b.fpr) - Double(a.fpr)) * (Double(a.pro) + Double(b.pro)) / 2
    }
}
