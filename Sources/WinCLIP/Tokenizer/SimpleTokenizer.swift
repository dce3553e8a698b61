import Foundation

/// A failure to load the BPE vocabulary or one of the generated tokenizer tables.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The bundled vocabulary resource is not in the module's bundle.
    case bundledVocabularyMissing
    /// The vocabulary file could not be read (missing, unreadable).
    case unreadableVocabulary(path: String, reason: String)
    /// The vocabulary file was read but is not a gzip-compressed CLIP merges list.
    case corruptVocabulary(path: String, reason: String)
    /// A generated tokenizer table (`Tools/reference/tokenizer_tables.py`) is not in the module's bundle.
    case bundledTableMissing(file: String)
    /// A tokenizer table file could not be read.
    case unreadableTable(path: String, reason: String)
    /// A tokenizer table file was read but does not hold what it should.
    case corruptTable(path: String, defect: TokenizerTableDefect)

    public var description: String {
        switch self {
        case .bundledVocabularyMissing:
            return "the bundled BPE vocabulary bpe_simple_vocab_16e6.txt.gz is missing from the WinCLIP resource bundle"
        case let .unreadableVocabulary(path, reason):
            return "cannot read the BPE vocabulary \(path): \(reason)"
        case let .corruptVocabulary(path, reason):
            return "the BPE vocabulary \(path) is corrupt: \(reason)"
        case let .bundledTableMissing(file):
            return "the tokenizer table \(file) is missing from the WinCLIP resource bundle"
        case let .unreadableTable(path, reason):
            return "cannot read the tokenizer table \(path): \(reason)"
        case let .corruptTable(path, defect):
            return "the tokenizer table \(path) is corrupt: \(defect)"
        }
    }
}

/// Port of open_clip's `SimpleTokenizer` (byte-level BPE over the CLIP vocabulary), as returned by
/// `open_clip.get_tokenizer('ViT-B-16-plus-240')`: context length 77, `clean='lower'`, no extra
/// special tokens, no reduction mask.
///
/// Text is cleaned (`TextCleaner`), split into words (`PreTokenizer`), each word's UTF-8 bytes are
/// mapped through `bytes_to_unicode` and merged by BPE. The merges work on vocabulary ids rather
/// than strings: every symbol BPE can form is a vocabulary entry, and the 48,894 merged strings are
/// distinct, so `(left id, right id) -> (rank, merged id)` is the same relation as open_clip's
/// `bpe_ranks` on strings. No cache is kept, so the tokenizer is immutable and thread-safe.
public final class SimpleTokenizer: Sendable {
    public static let startToken = 49406
    public static let endToken = 49407
    public static let defaultContextLength = 77
    /// open_clip reads lines 1...48894 of the merges file (`merges[1:49152-256-2+1]`).
    static let mergeCount = 49152 - 256 - 2
    public static let vocabularySize = 512 + mergeCount + 2

    /// Vocabulary id of each single-byte symbol, without and with the end-of-word marker `</w>`.
    private let byteID: [Int32]
    private let byteEndID: [Int32]
    /// `(left << 32 | right)` -> `(rank << 32 | merged id)`.
    private let merges: [UInt64: UInt64]
    /// Vocabulary strings by id (for `decode`).
    private let vocabulary: [String]
    private let cleaner: TextCleaner
    private let preTokenizer: PreTokenizer

    /// The vocabulary bundled with the module (open_clip's `bpe_simple_vocab_16e6.txt.gz`).
    static var bundledVocabularyURL: URL? {
        Bundle.module.url(forResource: "bpe_simple_vocab_16e6.txt", withExtension: "gz")
    }

    /// Loads the merges list `vocabURL` (gzip-compressed `bpe_simple_vocab_16e6.txt.gz`), or the copy
    /// bundled with the module when nil, and the bundled tokenizer tables.
    public convenience init(vocabURL: URL? = nil) throws {
        try self.init(vocabURL: vocabURL, tables: try TokenizerTables.bundled())
    }

    init(vocabURL: URL?, tables: TokenizerTables) throws {
        cleaner = TextCleaner(tables: tables)
        preTokenizer = PreTokenizer(unicodeClasses: tables.unicodeClasses)
        let url: URL
        if let vocabURL {
            url = vocabURL
        } else {
            guard let bundled = Self.bundledVocabularyURL else { throw TokenizerError.bundledVocabularyMissing }
            url = bundled
        }
        let path = url.path
        let compressed: Data
        do {
            compressed = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableVocabulary(path: path, reason: error.localizedDescription)
        }
        let raw: Data
        do {
            raw = try Gzip.decompress(compressed)
        } catch let error as GzipError {
            throw TokenizerError.corruptVocabulary(path: path, reason: error.description)
        }
        guard let text = String(data: raw, encoding: .utf8) else {
            throw TokenizerError.corruptVocabulary(path: path, reason: "the decompressed text is not valid UTF-8")
        }

        // vocab = byte symbols, byte symbols + '</w>', one entry per merge, the two special tokens.
        var vocabulary: [String] = []
        vocabulary.reserveCapacity(Self.vocabularySize)
        for b in ByteEncoder.byteOrder { vocabulary.append(String(ByteEncoder.scalarForByte[Int(b)])) }
        for b in ByteEncoder.byteOrder { vocabulary.append(String(ByteEncoder.scalarForByte[Int(b)]) + "</w>") }

        // `split('\n')`, then lines 1...48894.
        let lines = text.split(separator: "\n", maxSplits: Self.mergeCount + 1, omittingEmptySubsequences: false)
        guard lines.count > Self.mergeCount else {
            throw TokenizerError.corruptVocabulary(
                path: path, reason: "it has \(max(lines.count - 1, 0)) merges, the CLIP vocabulary needs \(Self.mergeCount)")
        }
        var mergePairs: [(Substring, Substring)] = []
        mergePairs.reserveCapacity(Self.mergeCount)
        for lineNumber in 1...Self.mergeCount {
            let line = lines[lineNumber]
            // `tuple(merge.split())`; a well-formed merge has exactly two symbols.
            let parts = line.unicodeScalars.split(whereSeparator: PythonString.isSpace)
            guard parts.count == 2 else {
                throw TokenizerError.corruptVocabulary(
                    path: path, reason: "line \(lineNumber + 1) is not a merge of two symbols: \(line.prefix(80).debugDescription)")
            }
            mergePairs.append((Substring(parts[0]), Substring(parts[1])))
            vocabulary.append(String(parts[0]) + String(parts[1]))
        }
        vocabulary.append("<start_of_text>")
        vocabulary.append("<end_of_text>")

        // `encoder = dict(zip(vocab, range(len(vocab))))`: a later duplicate wins.
        var encoder: [String: Int32] = [:]
        encoder.reserveCapacity(vocabulary.count)
        for (id, symbol) in vocabulary.enumerated() { encoder[symbol] = Int32(id) }

        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(mergePairs.count)
        for (rank, pair) in mergePairs.enumerated() {
            // A merge whose halves are not vocabulary symbols can never apply.
            guard let left = encoder[String(pair.0)], let right = encoder[String(pair.1)],
                  let merged = encoder[String(pair.0) + String(pair.1)] else { continue }
            merges[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))] = UInt64(rank) << 32 | UInt64(UInt32(merged))
        }

        self.byteID = (0..<256).map { encoder[String(ByteEncoder.scalarForByte[$0])]! }
        self.byteEndID = (0..<256).map { encoder[String(ByteEncoder.scalarForByte[$0]) + "</w>"]! }
        self.merges = merges
        self.vocabulary = vocabulary
    }

    /// BPE ids of `text` after open_clip's clean-up, without start/end tokens.
    public func encode(_ text: String) -> [Int] {
        let cleaned = cleaner.clean(text)
        var ids: [Int] = []
        for range in preTokenizer.split(cleaned) {
            let word = cleaned[range]
            // The special tokens are in open_clip's BPE cache as themselves.
            if word.elementsEqual(PreTokenizer.startOfText) { ids.append(Self.startToken); continue }
            if word.elementsEqual(PreTokenizer.endOfText) { ids.append(Self.endToken); continue }
            var bytes: [UInt8] = []
            for scalar in word { bytes.append(contentsOf: UTF8.encode(scalar)!) }
            ids.append(contentsOf: bpe(bytes).map(Int.init))
        }
        return ids
    }

    /// open_clip's `__call__` for one text: `[startToken] + encode(text) + [endToken]`, truncated to
    /// `contextLength` with the last id replaced by `endToken`, or padded with zeros.
    public func tokenize(_ text: String, contextLength: Int = SimpleTokenizer.defaultContextLength) -> [Int] {
        precondition(contextLength > 0, "contextLength must be positive")
        var tokens = [Self.startToken] + encode(text) + [Self.endToken]
        if tokens.count > contextLength {
            tokens.removeLast(tokens.count - contextLength)
            tokens[contextLength - 1] = Self.endToken
        }
        return tokens + [Int](repeating: 0, count: contextLength - tokens.count)
    }

    /// Token rows for several texts (`[texts.count][contextLength]`).
    public func tokenize(_ texts: [String], contextLength: Int = SimpleTokenizer.defaultContextLength) -> [[Int]] {
        texts.map { tokenize($0, contextLength: contextLength) }
    }

    /// open_clip's `decode`: vocabulary strings joined, mapped back to bytes, decoded as UTF-8 with
    /// replacement, `</w>` turned into a space. Ids outside the vocabulary are skipped (padding zeros
    /// are not: id 0 is "!", as in open_clip).
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < vocabulary.count {
            for scalar in vocabulary[id].unicodeScalars {
                if let b = ByteEncoder.byteForScalar[scalar.value] { bytes.append(b) }
            }
        }
        return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "</w>", with: " ")
    }

    /// open_clip's `bpe()` on one word given as UTF-8 bytes: start from one symbol per byte (the last
    /// one carrying `</w>`), then repeatedly merge every occurrence, left to right, of the adjacent
    /// pair with the lowest merge rank until no pair has a rank.
    func bpe(_ bytes: [UInt8]) -> [Int32] {
        guard let last = bytes.last else { return [] }
        var word = bytes.dropLast().map { byteID[Int($0)] }
        word.append(byteEndID[Int(last)])
        while word.count > 1 {
            // The adjacent pair with the lowest rank (`min(pairs, key=bpe_ranks.get)`).
            var best: UInt64 = .max
            var bestPair: UInt64 = 0
            for k in 0..<(word.count - 1) {
                let pair = UInt64(UInt32(word[k])) << 32 | UInt64(UInt32(word[k + 1]))
                if let m = merges[pair], m < best { best = m; bestPair = pair }
            }
            if best == .max { break }
            let first = Int32(truncatingIfNeeded: bestPair >> 32)
            let second = Int32(truncatingIfNeeded: bestPair & 0xFFFF_FFFF)
            let merged = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            var next: [Int32] = []
            next.reserveCapacity(word.count)
            var k = 0
            while k < word.count {
                if k + 1 < word.count && word[k] == first && word[k + 1] == second {
                    next.append(merged)
                    k += 2
                } else {
                    next.append(word[k])
                    k += 1
                }
            }
            word = next
        }
        return word
    }
}
