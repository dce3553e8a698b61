import Foundation

/// Identifies what a worker computes with: its model config and the bytes of its weights.
/// Two workers with equal fingerprints give bit-identical results; a job never mixes two.
public enum ModelFingerprint {
    /// "<config hash>-<weights hash>", 16 hex digits each.
    public static func compute(config: ModelConfig, weightsPath: String) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: weightsPath), options: .alwaysMapped) } catch {
            throw WeightsError("cannot read weights \(weightsPath) for the model fingerprint: \(error.localizedDescription)")
        }
        return "\(hex(hash(Data(describing(config).utf8))))-\(hex(hash(data)))"
    }

    /// The fingerprint's first part: what the config alone decides (a coordinator checks a
    /// worker's READY against its own model config with it).
    public static func configHash(_ config: ModelConfig) -> String {
        hex(hash(Data(describing(config).utf8)))
    }

    /// Fingerprint of a model without a file (random weights in benchmarks): config + seed.
    public static func synthetic(config: ModelConfig, seed: UInt64) -> String {
        "\(hex(hash(Data(describing(config).utf8))))-random\(seed)"
    }

    static func describing(_ c: ModelConfig) -> String {
        let v = c.vision, t = c.text
        return "embed=\(c.embedDim) quick=\(c.quickGELU) vision=\(v.imageSize),\(v.layers),\(v.width),\(v.patchSize),\(v.headWidth),\(v.mlpRatio),\(String(describing: v.layerScaleInit)) text=\(t.contextLength),\(t.vocabSize),\(t.width),\(t.heads),\(t.layers),\(t.mlpRatio),\(String(describing: t.layerScaleInit))"
    }

    /// A fast 64-bit hash over 8-byte words (identity, not security): about 1 GB/s.
    static func hash(_ data: Data) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(data.count)
        data.withUnsafeBytes { raw in
            let words = raw.count / 8
            for i in 0..<words {
                let w = raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
                h ^= h >> 32
            }
            for i in (words * 8)..<raw.count { h = (h ^ UInt64(raw[i])) &* 0x100_0000_01B3 }
        }
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 33)
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
