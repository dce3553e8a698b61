import Foundation
import WinCLIP
import AnomalyMetrics
import ImageInput

/// The files of one scored image besides its map, as paths relative to the output folder.
public struct PictureFiles: Sendable, Equatable {
    /// The composite picture (`AnomalyPicture`).
    public var picture: String
    /// The binary predicted mask, when there is a decision.
    public var predMask: String?
    /// The heat map over the image at the image's size (`maps/<stem>.png`), when asked for.
    public var overlay: String?

    public init(picture: String, predMask: String? = nil, overlay: String? = nil) {
        self.picture = picture
        self.predMask = predMask
        self.overlay = overlay
    }

    /// `pictures/<stem>.png`, `pred_masks/<stem>.png` and `maps/<stem>.png`, with the same stems
    /// as the maps (see `ResultWriter.outputPath`).
    public init(writer: ResultWriter, image: String, predMask: Bool, overlay: Bool = false) {
        self.init(picture: writer.outputPath(for: image, folder: "pictures", extension: "png"),
                  predMask: predMask ? writer.outputPath(for: image, folder: "pred_masks", extension: "png") : nil,
                  overlay: overlay ? writer.mapPath(for: image, extension: "png") : nil)
    }
}

/// Writes the picture, predicted mask and heat-map overlay of one image (what a job
/// draws for each scored image with `--save-maps`, once the run's colour scale is known). The
/// overlay and the picture use one colour scale (`heat`); the overlay, the predicted mask and the
/// Pred Mask panel all come from the one map upsampled to the image's own size.
public enum PictureOutput {
    /// - Parameters:
    ///   - directory: the output folder; `files` are relative to it.
    ///   - decision: the pixel-level decision (`Thresholds.pixelNormalization`), or nil: then no
    ///     Pred Mask panel and no predicted-mask file. The predicted mask is written at the
    ///     image's own size (like the overlay), the same mask the Pred Mask panel outlines.
    /// - Returns: the report's thumbnail of the image (`Thumbnail.jpeg` of the heat-map panel).
    @discardableResult
    public static func write(in directory: URL, files: PictureFiles, image: RGBImage, map: [Float], mapSize: Int,
                             groundTruth: [Bool]?, heat: MapNormalization, decision: ScoreNormalization?,
                             caption: AnomalyPicture.Caption, panelSize: Int = AnomalyPicture.defaultPanelSize,
                             thumbnailSize: Int = Thumbnail.defaultSize) throws -> Data {
        guard mapSize > 0, map.count == mapSize * mapSize else {
            throw PictureError("the anomaly map has \(map.count) values, expected \(mapSize) x \(mapSize)")
        }
        let upsampled = BilinearUpsample.resize(map, inHeight: mapSize, inWidth: mapSize, outHeight: image.height, outWidth: image.width)
        let panels = try AnomalyPicture.panels(image: image, map: map, mapSize: mapSize, groundTruth: groundTruth,
                                               heat: heat, decision: decision, panelSize: panelSize, upsampled: upsampled)
        if let path = files.overlay {
            let values = heat.apply(upsampled, scaleOf: map)
            try PNGEncoder.write(AnomalyPicture.heatOverlay(base: image, values: values), to: directory.appendingPathComponent(path))
        }
        try PNGEncoder.write(AnomalyPicture.compose(panels, caption: caption), to: directory.appendingPathComponent(files.picture))
        if let predicted = panels.predicted, let path = files.predMask {
            try PredictedMask.write(predicted, width: image.width, height: image.height, to: directory.appendingPathComponent(path))
        }
        // The thumbnail: the heat map over the image, without text.
        return try Thumbnail.jpeg(of: panels.heatMap, maxSide: thumbnailSize)
    }
}
