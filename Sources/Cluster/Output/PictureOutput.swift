import Foundation
import WinCLIP

/// The files of one scored image besides its map, as paths relative to the output folder.
public struct PictureFiles: Sendable, Equatable {
    /// The composite picture (`AnomalyPicture`).
    public var picture: String
    /// A small PNG of the picture's heat-map panel, for the report's table.
    public var thumbnail: String
    /// The binary predicted mask, when there is a decision.
    public var predMask: String?

    public init(picture: String, thumbnail: String, predMask: String? = nil) {
        self.picture = picture
        self.thumbnail = thumbnail
        self.predMask = predMask
    }

    /// `pictures/<stem>.png`, `thumbnails/<stem>.png` and `pred_masks/<stem>.png`, with the
    /// same stems as the maps (see `ResultWriter.outputPath`).
    public init(writer: ResultWriter, image: String, predMask: Bool) {
        self.init(picture: writer.outputPath(for: image, folder: "pictures", extension: "png"),
                  thumbnail: writer.outputPath(for: image, folder: "thumbnails", extension: "png"),
                  predMask: predMask ? writer.outputPath(for: image, folder: "pred_masks", extension: "png") : nil)
    }
}

/// Writes the picture, thumbnail and predicted mask of one image (what the job's output calls
/// for each scored image with `--save-maps`).
public enum PictureOutput {
    /// - Parameters:
    ///   - directory: the output folder; `files` are relative to it.
    ///   - decision: the pixel-level decision (`Thresholds.pixelNormalization`), or nil: then no
    ///     Pred Mask panel and no predicted-mask file.
    ///   - maskSize: the predicted mask's size (nil: the map's size).
    public static func write(in directory: URL, files: PictureFiles, image: RGBImage, map: [Float], mapSize: Int,
                             groundTruth: [Bool]?, heat: MapNormalization, decision: ScoreNormalization?,
                             caption: AnomalyPicture.Caption, panelSize: Int = AnomalyPicture.defaultPanelSize,
                             maskSize: (width: Int, height: Int)? = nil,
                             thumbnailSize: Int = Thumbnail.defaultSize) throws {
        let panels = try AnomalyPicture.panels(image: image, map: map, mapSize: mapSize, groundTruth: groundTruth,
                                               heat: heat, decision: decision, panelSize: panelSize)
        try PNGEncoder.write(AnomalyPicture.compose(panels, caption: caption), to: directory.appendingPathComponent(files.picture))
        // The thumbnail: the heat map over the image, without text.
        try Thumbnail.write(of: panels.heatMap, to: directory.appendingPathComponent(files.thumbnail), maxSide: thumbnailSize)
        if let decision, let path = files.predMask {
            let w = maskSize?.width ?? mapSize, h = maskSize?.height ?? mapSize
            let mask = try PredictedMask.compute(map: map, mapSize: mapSize, decision: decision, outputWidth: w, outputHeight: h)
            try PredictedMask.write(mask, width: w, height: h, to: directory.appendingPathComponent(path))
        }
    }
}
