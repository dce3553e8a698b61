import Foundation

/// Pixel AUROC, F1Max and AUPRO (anomalib's definitions, see `AnomalyMetrics` and PRO.swift) of
/// any number of images in bounded memory: maps and masks are added one image at a time, their
/// pixels are spilled to disk in runs, and `finish()` sweeps the thresholds from the runs.
///
/// How:
/// - `add` labels the mask's regions (8-connected) and turns each pixel into a sample: its score
///   as a 32-bit rank (`ScoreRank`), and for an anomalous pixel the float32 share 1 / region size
///   (0 for a mask without background: anomalib's AUPRO counts those pixels as normal). Samples
///   are buffered; every `chunkPixels` they are grouped by *bin* (the rank's top 16 bits) and
///   appended to the spill file as a run: the low 16 bits of each normal sample (2 bytes), the low
///   16 bits and the share of each anomalous one (6 bytes), and an index of the run's non-empty
///   bins (12 bytes each). A table of pixels per bin (65,536 counts) is kept in memory.
/// - `finish` goes through the bins from the highest score down. Consecutive bins are read back
///   from every run together (at most `batchPixels` samples), sorted in memory and swept; a bin
///   with at least `denseBinPixels` samples (e.g. long ties, or scores crowded in a narrow
///   range) is counted instead, per distinct score, into a table of 65,536 entries, whatever its
///   size. The region shares are summed exactly (`RegionShareSum`), so the result does not depend
///   on the order of the images.
///
/// Memory: at most 24 bytes x `chunkPixels` while adding (typically 9 bytes x it: 4 per
/// normal pixel and 8 per anomalous one, twice for sorting), and at most 24 bytes x
/// max(`batchPixels`, `denseBinPixels`) in `finish` (the chunk is freed by then), plus fixed
/// tables (the bin counts 0.5 MB, the dense-bin table 2.6 MB, reading buffers under 1 MB, the
/// labels of one image) and 80 bytes per run (one run per `chunkPixels` pixels). With the
/// standard tuning: at most about 100 MB, whatever the number of images (measured: 121 MB peak
/// RSS for the whole process with 20,000 images of 240 x 240, see `winclip-bench pixel-metrics`).
/// Disk: 2 bytes per normal pixel plus 6 bytes per anomalous pixel, plus 12 bytes per non-empty
/// bin of each run. Without a spill directory the same bytes are kept in memory.
///
/// Not thread-safe: one owner adds and finishes.
public final class PixelMetricsAccumulator {
    public struct Tuning: Sendable, Equatable {
        /// Pixels buffered before they are spilled as one run.
        public var chunkPixels: Int
        /// Most samples sorted in memory at once in `finish`.
        public var batchPixels: Int
        /// Bins with at least this many samples are counted per score instead of sorted.
        public var denseBinPixels: Int

        public init(chunkPixels: Int, batchPixels: Int, denseBinPixels: Int) {
            self.chunkPixels = chunkPixels
            self.batchPixels = batchPixels
            self.denseBinPixels = denseBinPixels
        }

        /// 4 Mi pixels a chunk and a batch, 256 Ki pixels for a dense bin.
        public static let standard = Tuning(chunkPixels: 1 << 22, batchPixels: 1 << 22, denseBinPixels: 1 << 18)
    }

    public let width: Int
    public let height: Int
    public let fprLimit: Double
    public let tuning: Tuning
    /// Images added so far.
    public private(set) var imageCount = 0

    private let pixels: Int
    private let store: SpillStore
    private var finished = false
    /// Set when a spill failed: the runs are then incomplete and nothing more can be added.
    private var spillFailure: Error?

    // Whole-job counts.
    private var totals = ThresholdSweep.Totals()
    /// Samples per bin (rank >> 16), over all runs.
    private var binCounts = [Int](repeating: 0, count: binCount)
    private var runs: [Run] = []

    // The chunk being filled.
    private var normals: [UInt32] = []
    private var anomalous: [UInt64] = []
    private var normalScratch: [UInt32] = []
    private var anomalousScratch: [UInt64] = []

    // Scratch space of one image.
    private var labels: [Int32]
    private var parent: [Int32] = []
    private var regionSizes: [Int] = []
    private var shareBits: [UInt32] = []

    private static let binCount = 1 << 16
    /// Elements per read or write of the reading / writing buffers.
    private static let pieceCount = 1 << 15
    private static let indexPieceEntries = 4096

    /// - Parameters:
    ///   - width, height: the size of every map and mask.
    ///   - spillDirectory: an existing folder where the spill file is created (and unlinked at
    ///     once: it never shows and vanishes with the accumulator or the process); nil to keep
    ///     the spilled bytes in memory.
    ///   - fprLimit: AUPRO's FPR limit (anomalib's default 0.3).
    /// - Throws: `PixelMetricsError` for a bad size or tuning, or when the spill file cannot be
    ///   created.
    public init(width: Int, height: Int, spillDirectory: URL?, fprLimit: Double = 0.3, tuning: Tuning = .standard) throws {
        let (area, overflow) = width.multipliedReportingOverflow(by: height)
        guard width >= 0, height >= 0, !overflow, area <= RegionShareSum.maxRegionSize else {
            throw PixelMetricsError("maps of \(width) x \(height) pixels are not supported (at most \(RegionShareSum.maxRegionSize) pixels)")
        }
        guard tuning.chunkPixels > 0, tuning.chunkPixels <= Int(UInt32.max), tuning.batchPixels > 0, tuning.denseBinPixels > 0 else {
            throw PixelMetricsError("invalid tuning \(tuning)")
        }
        self.width = width
        self.height = height
        self.fprLimit = fprLimit
        self.tuning = tuning
        pixels = area
        labels = [Int32](repeating: 0, count: pixels)
        store = try spillDirectory.map { try SpillStore(directory: $0) } ?? SpillStore()
    }

    /// The smallest and largest map value added (anomalib's pixel `MinMax`).
    public private(set) var valueRange: ClosedRange<Float>?
    /// Whether any pixel added was anomalous.
    public var hasAnomalousPixels: Bool { totals.anomalous > 0 }

    /// Bytes spilled so far (on disk, or in memory without a spill directory).
    public var spilledBytes: Int { store.size }

    /// Runs spilled so far.
    package var runCount: Int { runs.count }

    /// Adds one image: its anomaly map and its ground-truth mask (all false for a normal image),
    /// row-major, `width` x `height` each.
    public func add(map: [Float], mask: [Bool]) throws {
        guard !finished else { throw PixelMetricsError("an image was added after finish()") }
        if let spillFailure { throw spillFailure }
        guard map.count == pixels, mask.count == pixels else {
            throw PixelMetricsError("image \(imageCount + 1) has a map of \(map.count) and a mask of \(mask.count) values, expected \(width) x \(height) = \(pixels)")
        }
        if let r = AnomalyThresholds.range(of: map) {
            valueRange = valueRange.map { min($0.lowerBound, r.lowerBound)...max($0.upperBound, r.upperBound) } ?? r
        }
        let regions = mask.withUnsafeBufferPointer { m in
            labels.withUnsafeMutableBufferPointer { l in
                ConnectedComponents.label(mask: m, width: width, height: height, connectivity: .eight, into: l, parent: &parent)
            }
        }
        regionSizes.removeAll(keepingCapacity: true)
        regionSizes.append(contentsOf: repeatElement(0, count: regions + 1))
        labels.withUnsafeBufferPointer { l in
            regionSizes.withUnsafeMutableBufferPointer { sizes in
                for i in 0..<pixels { sizes[Int(l[i])] += 1 }
            }
        }
        let anomalousPixels = pixels - regionSizes[0]
        // anomalib's quirk: a mask without background yields no region (see PRO.swift).
        let regionless = regions == 1 && anomalousPixels == pixels
        shareBits.removeAll(keepingCapacity: true)
        shareBits.append(0)
        for r in 1..<(regions + 1) {
            shareBits.append(regionless ? 0 : (Float(1) / Float(regionSizes[r])).bitPattern)
        }
        totals.normals += pixels - anomalousPixels
        totals.anomalous += anomalousPixels
        if regionless { totals.regionless += anomalousPixels } else { totals.regions += regions }

        var inUnitInterval = true
        var start = 0
        while start < pixels {
            let take = min(pixels - start, tuning.chunkPixels - (normals.count + anomalous.count))
            let anomalousTaken = labels.withUnsafeBufferPointer { l in
                var count = 0
                for i in start..<(start + take) where l[i] != 0 { count += 1 }
                return count
            }
            var n = normals.count, a = anomalous.count
            normals.append(contentsOf: repeatElement(0, count: take - anomalousTaken))
            anomalous.append(contentsOf: repeatElement(0, count: anomalousTaken))
            map.withUnsafeBufferPointer { s in
                labels.withUnsafeBufferPointer { l in
                    shareBits.withUnsafeBufferPointer { share in
                        normals.withUnsafeMutableBufferPointer { normal in
                            anomalous.withUnsafeMutableBufferPointer { anomaly in
                                for i in start..<(start + take) {
                                    let score = s[i]
                                    if !(score >= 0 && score <= 1) { inUnitInterval = false }
                                    let rank = ScoreRank.rank(score)
                                    let label = Int(l[i])
                                    if label == 0 {
                                        normal[n] = rank
                                        n += 1
                                    } else {
                                        anomaly[a] = UInt64(rank) << 32 | UInt64(share[label])
                                        a += 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
            start += take
            if normals.count + anomalous.count == tuning.chunkPixels { try spillOrFail() }
        }
        if !inUnitInterval { totals.allScoresInUnitInterval = false }
        imageCount += 1
    }

    /// The metrics of every image added; the accumulator is spent afterwards (its spill file is
    /// closed and its memory released).
    public func finish() throws -> PixelMetrics {
        guard !finished else { throw PixelMetricsError("finish() was called twice") }
        finished = true
        defer { store.close() }
        if let spillFailure { throw spillFailure }
        if !normals.isEmpty || !anomalous.isEmpty { try spillOrFail() }
        (normals, anomalous, normalScratch, anomalousScratch) = ([], [], [], [])
        (labels, parent, regionSizes, shareBits) = ([], [], [], [])
        var sweep = ThresholdSweep(totals: totals, fprLimit: fprLimit, curves: true)
        if sweep.isRunning { try sweepRuns(&sweep) }
        runs = []
        return sweep.results()
    }

    // MARK: - runs

    /// Where a run's sections start in the store (byte offsets), and how far `finish` has read it.
    private struct Run {
        var normalLows = 0, normalCount = 0
        var anomalousLows = 0, anomalousShares = 0, anomalousCount = 0
        /// (bin, normals up to the end of the bin, anomalous up to the end of the bin) per
        /// non-empty bin, ascending, as three UInt32 each.
        var index = 0, indexCount = 0
        var nextEntry = 0, normalsRead = 0, anomalousRead = 0
    }

    /// One entry of a run's index.
    private struct IndexEntry {
        var bin: UInt32
        var normalEnd: Int
        var anomalousEnd: Int
    }

    private func spillOrFail() throws {
        do {
            try spill()
        } catch {
            spillFailure = error
            throw error
        }
    }

    /// Groups the chunk by bin and appends it to the store as a run.
    private func spill() throws {
        RadixSort.sort(&normals, scratch: &normalScratch, digits: [(16, 8), (24, 8)])
        RadixSort.sort(&anomalous, scratch: &anomalousScratch, digits: [(48, 8), (56, 8)])
        var run = Run()
        run.normalCount = normals.count
        run.anomalousCount = anomalous.count
        run.normalLows = store.size
        try appendConverted(normals) { UInt16(truncatingIfNeeded: $0) }
        run.anomalousLows = store.size
        try appendConverted(anomalous) { UInt16(truncatingIfNeeded: $0 >> 32) }
        run.anomalousShares = store.size
        try appendConverted(anomalous) { UInt32(truncatingIfNeeded: $0) }

        var index: [UInt32] = []
        var i = 0, j = 0
        let noBin = UInt32(Self.binCount)
        while i < normals.count || j < anomalous.count {
            let bin = min(i < normals.count ? normals[i] >> 16 : noBin,
                          j < anomalous.count ? UInt32(truncatingIfNeeded: anomalous[j] >> 48) : noBin)
            let i0 = i, j0 = j
            while i < normals.count && normals[i] >> 16 == bin { i += 1 }
            while j < anomalous.count && UInt32(truncatingIfNeeded: anomalous[j] >> 48) == bin { j += 1 }
            index.append(contentsOf: [bin, UInt32(i), UInt32(j)])
            binCounts[Int(bin)] += (i - i0) + (j - j0)
        }
        run.index = store.size
        run.indexCount = index.count / 3
        try index.withUnsafeBytes { _ = try store.append($0) }
        runs.append(run)
        normals.removeAll(keepingCapacity: true)
        anomalous.removeAll(keepingCapacity: true)
    }

    /// Appends `convert` of every element, a piece at a time.
    @inline(__always)
    private func appendConverted<Element, Stored>(_ elements: [Element], _ convert: (Element) -> Stored) throws {
        let piece = UnsafeMutableBufferPointer<Stored>.allocate(capacity: Self.pieceCount)
        defer { piece.deallocate() }
        try elements.withUnsafeBufferPointer { e in
            var start = 0
            while start < e.count {
                let end = min(e.count, start + Self.pieceCount)
                for k in start..<end { piece[k - start] = convert(e[k]) }
                try store.append(UnsafeRawBufferPointer(start: piece.baseAddress, count: MemoryLayout<Stored>.stride * (end - start)))
                start = end
            }
        }
    }

    // MARK: - reading back

    /// Buffers of `finish`.
    private struct ReadBuffers {
        var entries: [IndexEntry] = []
        var index = [UInt32](repeating: 0, count: 3 * indexPieceEntries)
        var lows = [UInt16](repeating: 0, count: pieceCount)
        var shares = [UInt32](repeating: 0, count: pieceCount)
    }

    /// Per distinct score of one bin: the threshold's counts, indexed by the rank's low 16 bits.
    private struct DenseTable {
        var normals = [Int](repeating: 0, count: binCount)
        var anomalous = [Int](repeating: 0, count: binCount)
        var regionless = [Int](repeating: 0, count: binCount)
        var shares = [RegionShareSum](repeating: RegionShareSum(), count: binCount)
        /// The entries in use lie in `lowest...highest` (empty when lowest > highest).
        var lowest = binCount, highest = -1

    }

    private func sweepRuns(_ sweep: inout ThresholdSweep) throws {
        var buffers = ReadBuffers()
        var batch = SortedBatch()
        var dense: DenseTable? = nil
        var pending = 0  // samples of the bins not yet read, before `bin`
        for bin in 0..<Self.binCount {
            let count = binCounts[bin]
            guard count > 0 else { continue }
            if count >= tuning.denseBinPixels {
                if pending > 0 {
                    try readBins(upTo: bin, into: &batch, &buffers)
                    batch.sortAndSweep(into: &sweep)
                    batch.removeAll()
                    pending = 0
                }
                if dense == nil { dense = DenseTable() }
                try countBin(bin, into: &dense!, &buffers, sweep: &sweep)
            } else {
                if pending > 0 && pending + count > tuning.batchPixels {
                    try readBins(upTo: bin, into: &batch, &buffers)
                    batch.sortAndSweep(into: &sweep)
                    batch.removeAll()
                    pending = 0
                }
                pending += count
            }
            if !sweep.isRunning { return }
        }
        if pending > 0 {
            try readBins(upTo: Self.binCount, into: &batch, &buffers)
            batch.sortAndSweep(into: &sweep)
        }
    }

    /// Reads run `r`'s index entries of the bins before `endBin` into `buffers.entries`.
    private func readEntries(run r: Int, upTo endBin: Int, _ buffers: inout ReadBuffers) throws {
        buffers.entries.removeAll(keepingCapacity: true)
        while runs[r].nextEntry < runs[r].indexCount {
            let n = min(Self.indexPieceEntries, runs[r].indexCount - runs[r].nextEntry)
            try buffers.index.withUnsafeMutableBytes {
                try store.read(at: runs[r].index + 12 * runs[r].nextEntry, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<(12 * n)]))
            }
            for k in 0..<n {
                let bin = buffers.index[3 * k]
                guard bin < endBin else { return }
                buffers.entries.append(IndexEntry(bin: bin, normalEnd: Int(buffers.index[3 * k + 1]),
                                                  anomalousEnd: Int(buffers.index[3 * k + 2])))
                runs[r].nextEntry += 1
            }
        }
    }

    /// Reads every run's samples of the bins before `endBin` (those after the bins already
    /// read) into `batch`.
    private func readBins(upTo endBin: Int, into batch: inout SortedBatch, _ buffers: inout ReadBuffers) throws {
        for r in runs.indices {
            try readEntries(run: r, upTo: endBin, &buffers)
            guard let last = buffers.entries.last else { continue }
            let run = runs[r]
            // Normal samples: rank = bin << 16 | low.
            var base = batch.normals.count
            batch.normals.append(contentsOf: repeatElement(0, count: last.normalEnd - run.normalsRead))
            try forEachPiece(from: run.normalsRead, to: last.normalEnd, entries: buffers.entries, \.normalEnd, &buffers) { b, range, high in
                batch.normals.withUnsafeMutableBufferPointer { out in
                    b.lows.withUnsafeBufferPointer { lows in
                        for k in range { out[base + k] = high | UInt32(lows[k]) }
                    }
                }
            } read: { start, count, b in
                try self.read(UInt16.self, at: run.normalLows, start, count, into: &b.lows)
            } next: { count in
                base += count
            }
            // Anomalous samples: rank << 32 | share bits.
            base = batch.anomalous.count
            batch.anomalous.append(contentsOf: repeatElement(0, count: last.anomalousEnd - run.anomalousRead))
            try forEachPiece(from: run.anomalousRead, to: last.anomalousEnd, entries: buffers.entries, \.anomalousEnd, &buffers) { b, range, high in
                batch.anomalous.withUnsafeMutableBufferPointer { out in
                    b.lows.withUnsafeBufferPointer { lows in
                        b.shares.withUnsafeBufferPointer { shares in
                            for k in range { out[base + k] = UInt64(high | UInt32(lows[k])) << 32 | UInt64(shares[k]) }
                        }
                    }
                }
            } read: { start, count, b in
                try self.read(UInt16.self, at: run.anomalousLows, start, count, into: &b.lows)
                try self.read(UInt32.self, at: run.anomalousShares, start, count, into: &b.shares)
            } next: { count in
                base += count
            }
            runs[r].normalsRead = last.normalEnd
            runs[r].anomalousRead = last.anomalousEnd
        }
    }

    /// Counts every run's samples of `bin` (the next bin of each run that has it) per distinct
    /// score, and sweeps them.
    private func countBin(_ bin: Int, into table: inout DenseTable, _ buffers: inout ReadBuffers, sweep: inout ThresholdSweep) throws {
        for r in runs.indices {
            try readEntries(run: r, upTo: bin + 1, &buffers)
            guard let last = buffers.entries.last else { continue }
            let run = runs[r]
            try forEachPiece(from: run.normalsRead, to: last.normalEnd, entries: buffers.entries, \.normalEnd, &buffers) { b, range, _ in
                table.normals.withUnsafeMutableBufferPointer { normals in
                    b.lows.withUnsafeBufferPointer { lows in
                        var (lowest, highest) = (table.lowest, table.highest)
                        for k in range {
                            let low = Int(lows[k])
                            normals[low] += 1
                            lowest = min(lowest, low)
                            highest = max(highest, low)
                        }
                        (table.lowest, table.highest) = (lowest, highest)
                    }
                }
            } read: { start, count, b in
                try self.read(UInt16.self, at: run.normalLows, start, count, into: &b.lows)
            }
            try forEachPiece(from: run.anomalousRead, to: last.anomalousEnd, entries: buffers.entries, \.anomalousEnd, &buffers) { b, range, _ in
                for k in range {
                    let low = Int(b.lows[k]), share = b.shares[k]
                    table.anomalous[low] += 1
                    if share == 0 { table.regionless[low] += 1 } else { table.shares[low].add(shareBits: share) }
                    table.lowest = min(table.lowest, low)
                    table.highest = max(table.highest, low)
                }
            } read: { start, count, b in
                try self.read(UInt16.self, at: run.anomalousLows, start, count, into: &b.lows)
                try self.read(UInt32.self, at: run.anomalousShares, start, count, into: &b.shares)
            }
            runs[r].normalsRead = last.normalEnd
            runs[r].anomalousRead = last.anomalousEnd
        }
        let high = UInt32(bin) << 16
        guard table.lowest <= table.highest else { return }
        for low in table.lowest...table.highest where table.normals[low] != 0 || table.anomalous[low] != 0 {
            sweep.add(ThresholdSweep.Threshold(score: ScoreRank.score(high | UInt32(low)), normals: table.normals[low],
                                               anomalous: table.anomalous[low], regionless: table.regionless[low],
                                               shares: table.shares[low]))
            table.normals[low] = 0
            table.anomalous[low] = 0
            table.regionless[low] = 0
            table.shares[low] = RegionShareSum()
        }
        (table.lowest, table.highest) = (Self.binCount, -1)
    }

    /// Reads samples `start..<end` of a run section a piece at a time (`read(first, count)`),
    /// calls `body(buffers, range in the piece, bin << 16)` for each part of a piece that lies in
    /// one bin, then `next(count)`; `binEnd` is where each of `entries`' bins ends.
    @inline(__always)
    private func forEachPiece(from start: Int, to end: Int, entries: [IndexEntry], _ binEnd: KeyPath<IndexEntry, Int>,
                              _ buffers: inout ReadBuffers,
                              _ body: (ReadBuffers, Range<Int>, UInt32) -> Void,
                              read: (Int, Int, inout ReadBuffers) throws -> Void,
                              next: (Int) -> Void = { _ in }) throws {
        var position = start
        var e = 0
        while position < end {
            let count = min(Self.pieceCount, end - position)
            try read(position, count, &buffers)
            var k = 0
            while k < count {
                while entries[e][keyPath: binEnd] <= position + k { e += 1 }
                let partEnd = min(count, entries[e][keyPath: binEnd] - position)
                body(buffers, k..<partEnd, entries[e].bin << 16)
                k = partEnd
            }
            next(count)
            position += count
        }
    }

    /// Reads `count` elements of type `T` from the section at byte `offset`, from element `first`.
    private func read<T>(_: T.Type, at offset: Int, _ first: Int, _ count: Int, into buffer: inout [T]) throws {
        try buffer.withUnsafeMutableBytes {
            try store.read(at: offset + MemoryLayout<T>.stride * first,
                           into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<(MemoryLayout<T>.stride * count)]))
        }
    }
}
