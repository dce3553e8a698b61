import Foundation
import Options
import WinCLIP

/// The coordinator's cache of job setups: text embeddings per (model fingerprint, class name)
/// and reference embeddings per (model fingerprint, scales, attention, reference pixels), so
/// that repeated submits to a long-lived coordinator skip the text tower and the reference
/// pass. Bounded: the least recently stored entries go first.
///
/// Every entry records which workers produced it (`SetupProvenance`): a job that verifies its
/// setup takes only entries two workers agreed on, and revoking a worker's key drops what it
/// produced.
struct SetupCache {
    let capacity: Int
    private var texts: [String: (value: TextEmbeddings, provenance: SetupProvenance)] = [:]
    private var textOrder: [String] = []
    private var refs: [String: (value: ReferenceEmbeddings, provenance: SetupProvenance)] = [:]
    private var refOrder: [String] = []

    init(capacity: Int = 16) { self.capacity = capacity }

    /// A cached entry; with `verified`, only one that two workers agreed on.
    func text(_ key: String, verified: Bool = false) -> TextEmbeddings? {
        texts[key].flatMap { !verified || $0.provenance.isVerified ? $0.value : nil }
    }

    package func references(_ key: String, verified: Bool = false) -> ReferenceEmbeddings? {
        refs[key].flatMap { !verified || $0.provenance.isVerified ? $0.value : nil }
    }

    func provenance(text key: String) -> SetupProvenance? { texts[key]?.provenance }
    func provenance(references key: String) -> SetupProvenance? { refs[key]?.provenance }

    mutating func store(text: TextEmbeddings, key: String, provenance: SetupProvenance) {
        texts[key] = (text, provenance)
        textOrder.removeAll { $0 == key }
        textOrder.append(key)
        while textOrder.count > capacity { texts[textOrder.removeFirst()] = nil }
    }

    mutating func store(references: ReferenceEmbeddings, key: String, provenance: SetupProvenance) {
        refs[key] = (references, provenance)
        refOrder.removeAll { $0 == key }
        refOrder.append(key)
        // Reference embeddings are large (K x 1.7 MB for the default model): keep few.
        while refOrder.count > max(1, capacity / 4) { refs[refOrder.removeFirst()] = nil }
    }

    /// Drops every entry a worker of these principals had a hand in; returns how many.
    mutating func remove(producedBy principals: Set<String>) -> Int {
        let textKeys = texts.filter { !principals.isDisjoint(with: $0.value.provenance.principals) }.map(\.key)
        let refKeys = refs.filter { !principals.isDisjoint(with: $0.value.provenance.principals) }.map(\.key)
        for k in textKeys { texts[k] = nil }
        for k in refKeys { refs[k] = nil }
        textOrder.removeAll { textKeys.contains($0) }
        refOrder.removeAll { refKeys.contains($0) }
        return textKeys.count + refKeys.count
    }

    /// Text embeddings depend on the model, the class name and the prompts only.
    static func textKey(fingerprint: String, options: JobOptions) -> String {
        "\(fingerprint)\u{0}\(options.className ?? "")\u{0}\(options.prompts.map { "\($0)" } ?? "anomalib")"
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
