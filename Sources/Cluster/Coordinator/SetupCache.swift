import Foundation
import Options
import WinCLIP

/// The coordinator's cache of job setups: text embeddings per (model fingerprint, class name)
/// and reference embeddings per (model fingerprint, scales, attention, reference pixels), so
/// that repeated submits to a long-lived coordinator skip the text tower and the reference
/// pass. Bounded: the least recently stored entries go first.
struct SetupCache {
    let capacity: Int
    private var texts: [String: TextEmbeddings] = [:]
    private var textOrder: [String] = []
    private var refs: [String: ReferenceEmbeddings] = [:]
    private var refOrder: [String] = []

    init(capacity: Int = 16) { self.capacity = capacity }

    func text(_ key: String) -> TextEmbeddings? { texts[key] }
    func references(_ key: String) -> ReferenceEmbeddings? { refs[key] }

    mutating func store(text: TextEmbeddings, key: String) {
        texts[key] = text
        textOrder.removeAll { $0 == key }
        textOrder.append(key)
        while textOrder.count > capacity { texts[textOrder.removeFirst()] = nil }
    }

    mutating func store(references: ReferenceEmbeddings, key: String) {
        refs[key] = references
        refOrder.removeAll { $0 == key }
        refOrder.append(key)
        // Reference embeddings are large (K x 1.7 MB for the default model): keep few.
        while refOrder.count > max(1, capacity / 4) { refs[refOrder.removeFirst()] = nil }
    }

    /// FNV-1a over the reference pixels, with what else decides the embeddings.
    static func referenceKey(fingerprint: String, options: JobOptions, pixels: [Data]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for blob in pixels {
            for byte in blob { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
            h = (h ^ 0xFF) &* 0x100_0000_01B3
        }
        return "\(fingerprint)|\(options.scales)|\(options.windowAttention.rawValue)|\(pixels.count)|\(String(h, radix: 16))"
    }
}
