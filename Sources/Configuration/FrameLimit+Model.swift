import Foundation
import Protocol
import Transport
import WinCLIP

/// The largest frame (ZMQ_MAXMSGSIZE, which libzmq checks per frame) a legitimate message
/// carries for a model, plus a margin; a peer sending a larger one is disconnected by libzmq
/// before the frame is buffered. The candidates (docs/protocol.md): a JSON body (64 KiB at
/// most), an image `[3,S,S]`, reference patch tokens `[K·G²,W]` and reference windows
/// `[K·n_s,E]` (n_s ≤ G²), K at most `maxReferences`.
extension FrameLimit {
    public static func bytes(for config: ModelConfig, maxReferences: Int) -> Int64 {
        let v = config.vision
        let g2 = Int64(v.gridSize * v.gridSize), k = Int64(max(1, maxReferences))
        let largest = max(Int64(WireMessage.maxBodyBytes),
                          4 * 3 * Int64(v.imageSize * v.imageSize),
                          4 * k * g2 * Int64(v.width),
                          4 * k * g2 * Int64(config.embedDim))
        // CURVE adds 33 bytes per frame; the rest is room for rounding, not for growth.
        return largest + largest / 16 + 65536
    }

    /// When the model is not known where a socket is made (a client before its job is
    /// accepted): the largest built-in model's.
    public static func bytesForLargestBuiltIn(maxReferences: Int) -> Int64 {
        ModelConfig.builtinNames.compactMap { try? ModelConfig.load($0) }.map { bytes(for: $0, maxReferences: maxReferences) }.max()
            ?? 256 << 20
    }
}
