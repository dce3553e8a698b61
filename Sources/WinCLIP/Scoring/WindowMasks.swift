/// The sliding windows of one WinCLIP scale over the patch grid, in the order of anomalib's
/// `make_masks`: `torch.nn.functional.unfold` of the [G, G] grid of patch indices with
/// kernel k and stride s. Windows run row-major over their top-left corners; the patches of a
/// window run row-major inside it.
public struct WindowMasks: Sendable, Equatable {
    public let gridSize: Int
    public let kernelSize: Int
    public let stride: Int
    /// windows[w] = 0-based patch indices (row * G + column) of window w, k*k of them.
    public let windows: [[Int]]

    public struct ScaleError: Error, CustomStringConvertible { public let description: String }

    public init(gridSize: Int, kernelSize: Int, stride: Int = 1) throws {
        guard kernelSize >= 1, stride >= 1 else {
            throw ScaleError(description: "window scale \(kernelSize) and stride \(stride) must be at least 1")
        }
        guard kernelSize <= gridSize else {
            throw ScaleError(description: "window scale \(kernelSize) exceeds the model's \(gridSize)x\(gridSize) patch grid")
        }
        self.gridSize = gridSize
        self.kernelSize = kernelSize
        self.stride = stride
        let positions = (gridSize - kernelSize) / stride + 1
        var windows: [[Int]] = []
        windows.reserveCapacity(positions * positions)
        for top in 0..<positions {
            for left in 0..<positions {
                var patches: [Int] = []
                patches.reserveCapacity(kernelSize * kernelSize)
                for dy in 0..<kernelSize {
                    for dx in 0..<kernelSize { patches.append((top * stride + dy) * gridSize + left * stride + dx) }
                }
                windows.append(patches)
            }
        }
        self.windows = windows
    }

    public var count: Int { windows.count }
    /// Tokens in one window sequence: the class token and k*k patches.
    public var sequenceLength: Int { kernelSize * kernelSize + 1 }
}
