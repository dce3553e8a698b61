import Foundation
import WinCLIP
import AnomalyMetrics
import ImageInput

public struct PictureError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The picture of one scored image, laid out as anomalib 2.x's `ImageVisualizer` lays it out:
/// square panels of `panelSize` pixels side by side, each titled as anomalib titles it:
///
///     Image | Gt Mask (when known) | Image + Anomaly Map | Image + Pred Mask (with a decision)
///
/// - Image: the picture resized to the panel (antialiased bicubic; the map covers the whole
///   picture, which the model saw stretched to a square).
/// - Gt Mask: the ground-truth mask, white on black, nearest-neighbour resized.
/// - Image + Anomaly Map: the map resized bilinearly (torch `interpolate`, align_corners=False),
///   put on the colour scale by `heat`, coloured with matplotlib's `jet` and blended over the
///   image as anomalib's `overlay_image(alpha=0.5)` blends (alpha 127, Pillow's `alpha_composite`).
/// - Image + Pred Mask: the predicted mask at the image's own size (the map resized bilinearly to
///   the image, as for the overlay; a pixel is anomalous when its normalised value is above 0.5,
///   anomalib's `pred_mask`, i.e. its value is above the pixel threshold), resized to the panel
///   nearest-neighbour and drawn as a red contour (Pillow's `FIND_EDGES`, anomalib's contour mode).
///
/// The last panel carries the image score (and its normalised value) and the predicted label.
/// Differences from anomalib: the colour table is matplotlib's `jet` (anomalib 2.x interpolates
/// 9 jet colours, 1.x used OpenCV's), the font is this project's 5 x 7 bitmap font, and the
/// contour is found at panel resolution rather than at the map's.
public enum AnomalyPicture {
    public static let defaultPanelSize = 256
    /// anomalib's overlay alpha 0.5 as Pillow turns it into an alpha channel (255 · 0.5, truncated).
    package static let heatAlpha: UInt8 = 127

    /// What is written on the picture.
    public struct Caption: Sendable, Equatable {
        public var score: Float?
        public var normalizedScore: Float?
        /// The predicted label (true = anomalous), nil without a decision.
        public var predictedAnomalous: Bool?
        /// The ground-truth label (true = anomalous), nil when unknown.
        public var groundTruthAnomalous: Bool?

        public init(score: Float?, normalizedScore: Float? = nil, predictedAnomalous: Bool? = nil, groundTruthAnomalous: Bool? = nil) {
            self.score = score
            self.normalizedScore = normalizedScore
            self.predictedAnomalous = predictedAnomalous
            self.groundTruthAnomalous = groundTruthAnomalous
        }

        /// "score 0.8123" or "score 0.8123 (0.621)" with the normalised score.
        public var scoreText: String? {
            guard let score else { return nil }
            var text = "score " + format(score, 4)
            if let n = normalizedScore { text += " (" + format(n, 3) + ")" }
            return text
        }

        /// "pred: ANOMALOUS" / "pred: NORMAL", nil without a decision.
        public var labelText: String? { predictedAnomalous.map { "pred: " + ($0 ? "ANOMALOUS" : "NORMAL") } }

        /// "truth: ANOMALOUS" / "truth: NORMAL", nil when the ground truth is unknown.
        public var truthText: String? { groundTruthAnomalous.map { "truth: " + ($0 ? "ANOMALOUS" : "NORMAL") } }

        private func format(_ v: Float, _ decimals: Int) -> String {
            v.isFinite ? String(format: "%.\(decimals)f", Double(v)) : "\(v)"
        }
    }

    /// The panel titles, in order, for the given inputs.
    public static func titles(groundTruth: Bool, decision: Bool) -> [String] {
        ["Image"] + (groundTruth ? ["Gt Mask"] : []) + ["Image + Anomaly Map"] + (decision ? ["Image + Pred Mask"] : [])
    }

    /// Renders the picture.
    /// - Parameters:
    ///   - image: the decoded image at its own size.
    ///   - map: the anomaly map, `mapSize` x `mapSize`, row-major.
    ///   - groundTruth: the ground-truth mask at the map's size, or nil when unknown.
    ///   - heat: how map values become colours.
    ///   - decision: the pixel-level normalisation whose decision makes the predicted mask (the
    ///     thresholds' `pixelNormalization`), or nil for no Pred Mask panel.
    ///   - caption: score and predicted label.
    public static func render(image: RGBImage, map: [Float], mapSize: Int, groundTruth: [Bool]?,
                              heat: MapNormalization, decision: ScoreNormalization?, caption: Caption,
                              panelSize: Int = defaultPanelSize) throws -> RGBImage {
        try compose(panels(image: image, map: map, mapSize: mapSize, groundTruth: groundTruth, heat: heat,
                           decision: decision, panelSize: panelSize), caption: caption)
    }

    /// The panels before any text, in order (see `Panels`).
    public struct Panels: Sendable {
        public var image: RGBImage
        public var groundTruth: RGBImage?
        public var heatMap: RGBImage
        public var predictedMask: RGBImage?
        /// The predicted mask at the image's own size, row-major (nil without a decision): what
        /// `pred_masks/` holds.
        public var predicted: [Bool]?
        /// The raw values at the ends of the heat map's colours, for the colour bar.
        public var heatScale: HeatScale?
        /// The pixel threshold marked on the colour bar (with a decision).
        public var threshold: Float?

        package var all: [(title: String, panel: RGBImage)] {
            var out = [("Image", image)]
            if let groundTruth { out.append(("Gt Mask", groundTruth)) }
            out.append(("Image + Anomaly Map", heatMap))
            if let predictedMask { out.append(("Image + Pred Mask", predictedMask)) }
            return out
        }
    }

    /// Draws the panels of `render` without titles or caption.
    /// - Parameter upsampled: the map already resized to the image's size (bilinear), when the
    ///   caller has it (it is computed otherwise, with a decision).
    public static func panels(image: RGBImage, map: [Float], mapSize: Int, groundTruth: [Bool]?,
                              heat: MapNormalization, decision: ScoreNormalization?,
                              panelSize: Int = defaultPanelSize, upsampled: [Float]? = nil) throws -> Panels {
        guard image.width > 0, image.height > 0 else { throw PictureError("cannot draw a picture of an empty \(image.width)x\(image.height) image") }
        guard mapSize > 0, map.count == mapSize * mapSize else {
            throw PictureError("the anomaly map has \(map.count) values, expected \(mapSize) x \(mapSize)")
        }
        if let groundTruth, groundTruth.count != map.count {
            throw PictureError("the ground-truth mask has \(groundTruth.count) values, expected \(mapSize) x \(mapSize)")
        }
        guard panelSize >= 16 else { throw PictureError("panel size \(panelSize) is too small (at least 16)") }
        let p = panelSize
        let base = image.resized(width: p, height: p)
        let resizedMap = BilinearUpsample.resize(map, inHeight: mapSize, inWidth: mapSize, outHeight: p, outWidth: p)

        var truthPanel: RGBImage?
        if let groundTruth {
            let mask = MaskDrawing.resizeNearest(groundTruth, width: mapSize, height: mapSize, outWidth: p, outHeight: p)
            var panel = RGBImage(width: p, height: p, color: .black)
            for i in 0..<mask.count where mask[i] { panel.pixels[3 * i] = 255; panel.pixels[3 * i + 1] = 255; panel.pixels[3 * i + 2] = 255 }
            truthPanel = panel
        }
        var predictedPanel: RGBImage?
        var predicted: [Bool]?
        if let decision {
            let atImageSize = try upsampled.map { $0.map(decision.isAnomalous) }
                ?? PredictedMask.compute(map: map, mapSize: mapSize, decision: decision,
                                         outputWidth: image.width, outputHeight: image.height)
            let inPanel = MaskDrawing.resizeNearest(atImageSize, width: image.width, height: image.height, outWidth: p, outHeight: p)
            let edges = MaskDrawing.edges(inPanel, width: p, height: p)
            var panel = base
            for i in 0..<edges.count where edges[i] { panel.pixels[3 * i] = 255; panel.pixels[3 * i + 1] = 0; panel.pixels[3 * i + 2] = 0 }
            predictedPanel = panel
            predicted = atImageSize
        }
        return Panels(image: base, groundTruth: truthPanel, heatMap: heatOverlay(base: base, values: heat.apply(resizedMap, scaleOf: map)),
                      predictedMask: predictedPanel, predicted: predicted, heatScale: heat.scale(for: map),
                      threshold: decision?.threshold)
    }

    /// The height of the strip under the panels that holds the colour bar, at `panelSize`.
    public static func footerHeight(panelSize: Int) -> Int { 22 * max(1, panelSize / 128) }

    /// The panels side by side, each titled, the caption (score, prediction and ground truth) at
    /// the bottom of the last, and under the heat-map panel its colour bar with the raw values
    /// at both ends and the pixel threshold.
    public static func compose(_ panels: Panels, caption: Caption) -> RGBImage {
        let all = panels.all
        let p = panels.image.width
        let scale = max(1, p / 128)
        var out = RGBImage(width: p * all.count, height: p + footerHeight(panelSize: p), color: .white)
        for (k, entry) in all.enumerated() {
            var panel = entry.panel
            panel.caption(entry.title, x: 3 * scale, y: 3 * scale, scale: scale)
            if k == all.count - 1 {
                var y = p - 3 * scale - BitmapFont.glyphHeight * scale
                let lines: [(String?, RGBColor)] = [
                    (caption.labelText, caption.predictedAnomalous == true ? RGBColor(255, 80, 80) : RGBColor(90, 255, 90)),
                    (caption.truthText, .white), (caption.scoreText, .white)]
                for case let (text?, color) in lines {
                    panel.caption(text, x: 3 * scale, y: y, scale: scale, color: color)
                    y -= BitmapFont.lineHeight * scale + 2 * scale
                }
            }
            out.paste(panel, x: k * p, y: 0)
        }
        if let heatScale = panels.heatScale, let k = all.firstIndex(where: { $0.title == "Image + Anomaly Map" }) {
            drawColourBar(on: &out, x: k * p + 6 * scale, y: p + 3 * scale, width: p - 12 * scale, scale: scale,
                          heatScale: heatScale, threshold: panels.threshold)
        }
        return out
    }

    /// `jet` from left to right, the raw values of both ends printed under it, and the
    /// threshold as a black tick (printed too when it does not collide with the ends).
    package static func drawColourBar(on image: inout RGBImage, x: Int, y: Int, width: Int, scale: Int, heatScale: HeatScale, threshold: Float?) {
        guard width > 1 else { return }
        let barHeight = 6 * scale
        for i in 0..<width {
            let position = Float(i) / Float(width - 1)
            let c = JetColormap.color(for: position)!
            image.fill(x: x + i, y: y, width: 1, height: barHeight, color: c)
        }
        let textY = y + barHeight + 3 * scale
        let low = label(heatScale.low), high = label(heatScale.high)
        let highWidth = BitmapFont.size(of: high, scale: scale).width
        BitmapFont.draw(low, on: &image, x: x, y: textY, scale: scale, color: .black)
        BitmapFont.draw(high, on: &image, x: x + width - highWidth, y: textY, scale: scale, color: .black)
        guard let threshold, heatScale.high > heatScale.low else { return }
        let position = (threshold - heatScale.low) / (heatScale.high - heatScale.low)
        guard position >= 0, position <= 1 else { return }
        let tx = x + Int((position * Float(width - 1)).rounded())
        image.fill(x: tx - scale / 2, y: y - scale, width: max(1, scale), height: barHeight + 2 * scale, color: .black)
        let text = label(threshold)
        let w = BitmapFont.size(of: text, scale: scale).width
        let start = tx - w / 2
        let lowEnd = x + BitmapFont.size(of: low, scale: scale).width + 2 * scale
        if start >= lowEnd, start + w <= x + width - highWidth - 2 * scale {
            BitmapFont.draw(text, on: &image, x: start, y: textY, scale: scale, color: .black)
        }
    }

    /// Four significant digits.
    package static func label(_ v: Float) -> String { v.isFinite ? String(format: "%.4g", Double(v)) : "\(v)" }

    /// `base` with each pixel's jet colour of `values` (on [0, 1]) composited at alpha 127;
    /// NaN values leave the pixel as it is.
    package static func heatOverlay(base: RGBImage, values: [Float]) -> RGBImage {
        precondition(values.count == base.width * base.height)
        var out = base
        for (i, v) in values.enumerated() {
            guard let c = JetColormap.color(for: v) else { continue }
            out.pixels[3 * i] = pillowComposite(c.r, over: out.pixels[3 * i], alpha: heatAlpha)
            out.pixels[3 * i + 1] = pillowComposite(c.g, over: out.pixels[3 * i + 1], alpha: heatAlpha)
            out.pixels[3 * i + 2] = pillowComposite(c.b, over: out.pixels[3 * i + 2], alpha: heatAlpha)
        }
        return out
    }
}
