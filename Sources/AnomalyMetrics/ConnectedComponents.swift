/// Connected-component labelling of binary masks, for AUPRO's ground-truth regions.
///
/// anomalib's AUPRO labels the masks on the CPU with `cv2.connectedComponents(mask)`, whose
/// default connectivity is 8: pixels touching only at a corner belong to one region. Labels here
/// are 1...count in the raster order of each region's first pixel (OpenCV may number them in
/// another order; only which pixels share a region matters to AUPRO).
public enum ConnectedComponents {
    public enum Connectivity: Sendable {
        /// Left, right, up, down.
        case four
        /// Also the four diagonal neighbours (OpenCV's default, used by anomalib).
        case eight
    }

    /// Labels a row-major `width` x `height` mask: 0 for background, 1...count for regions.
    public static func label(mask: [Bool], width: Int, height: Int,
                             connectivity: Connectivity = .eight) -> (labels: [Int32], count: Int) {
        precondition(width >= 0 && height >= 0 && mask.count == width * height,
                     "ConnectedComponents: mask has \(mask.count) pixels, expected \(width) x \(height)")
        var labels = [Int32](repeating: 0, count: mask.count)
        var parent: [Int32] = []
        let count = mask.withUnsafeBufferPointer { m in
            labels.withUnsafeMutableBufferPointer { l in
                label(mask: m, width: width, height: height, connectivity: connectivity, into: l, parent: &parent)
            }
        }
        return (labels, count)
    }

    /// Two-pass labelling with union-find: provisional labels in raster order, merged when a
    /// pixel touches several, then renumbered 1...count by first appearance. `parent` is scratch
    /// space reused across calls (it grows to one entry per pixel).
    static func label(mask: UnsafeBufferPointer<Bool>, width: Int, height: Int, connectivity: Connectivity,
                      into labels: UnsafeMutableBufferPointer<Int32>, parent: inout [Int32]) -> Int {
        let pixels = width * height
        precondition(mask.count == pixels && labels.count == pixels)
        if parent.count < pixels + 1 { parent = [Int32](repeating: 0, count: pixels + 1) }
        let diagonal = connectivity == .eight
        return parent.withUnsafeMutableBufferPointer { pb -> Int in
            let p = pb.baseAddress!  // p[0] is the background; provisional labels from 1
            var next: Int32 = 1

            @inline(__always) func find(_ x: Int32) -> Int32 {
                var x = x
                while p[Int(x)] != x {
                    p[Int(x)] = p[Int(p[Int(x)])]  // path halving
                    x = p[Int(x)]
                }
                return x
            }
            /// Joins the region of neighbour label `n` (0: none) to the current `root`.
            @inline(__always) func join(_ n: Int32, _ root: inout Int32) {
                guard n != 0 else { return }
                let r = find(n)
                if root == 0 {
                    root = r
                } else if r != root {
                    // The smaller label stays the root.
                    if r < root { p[Int(root)] = r; root = r } else { p[Int(r)] = root }
                }
            }

            for y in 0..<height {
                let row = y * width
                for x in 0..<width {
                    let i = row + x
                    guard mask[i] else { labels[i] = 0; continue }
                    // Already-visited neighbours: left, and the row above (up-left, up, up-right).
                    var root: Int32 = 0
                    if x > 0 { join(labels[i - 1], &root) }
                    if y > 0 {
                        join(labels[i - width], &root)
                        if diagonal {
                            if x > 0 { join(labels[i - width - 1], &root) }
                            if x + 1 < width { join(labels[i - width + 1], &root) }
                        }
                    }
                    if root == 0 {
                        root = next
                        p[Int(next)] = next
                        next += 1
                    }
                    labels[i] = root
                }
            }

            // Flatten: every provisional label points at its root. Parents are never larger
            // than their child, so one ascending sweep suffices.
            if next > 1 {
                for l in 1..<Int(next) { p[l] = p[Int(p[l])] }
            }
            // Renumber the roots 1...count in raster order of first appearance; a root's final
            // number is kept as a negative value in its own slot.
            var count: Int32 = 0
            for i in 0..<pixels where labels[i] != 0 {
                var v = p[Int(labels[i])]
                if v > 0 { v = p[Int(v)] }  // at the root: its number (negative) or itself
                if v > 0 {
                    count += 1
                    p[Int(v)] = -count
                    v = -count
                }
                labels[i] = -v
            }
            return Int(count)
        }
    }
}
