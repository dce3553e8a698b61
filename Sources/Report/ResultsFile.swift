import Foundation
import Outputs
import AnomalyMetrics

public struct ResultsFileError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reading results.jsonl back (one `ImageResult` a line), a chunk at a time so that memory holds
/// only the parsed rows, and rewriting it with decisions added.
public enum ResultsFile {
    /// Calls `body` with each row in file order. Blank lines are skipped; a line that is not a
    /// result object is an error naming its line number.
    public static func forEachRow(in url: URL, _ body: (ImageResult) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ResultsFileError("cannot open \(url.path)")
        }
        defer { try? handle.close() }
        var pending = Data()
        var lineNumber = 0
        func emit(_ line: Data) throws {
            lineNumber += 1
            guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { return }
            do { try body(try ImageResult(jsonLine: line)) } catch let error as ResultsFileError {
                throw ResultsFileError("\(url.path) line \(lineNumber): \(error.description)")
            }
        }
        while true {
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { break }
            pending.append(chunk)
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                try emit(pending[start..<newline])
                start = pending.index(after: newline)
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty { try emit(pending) }
    }

    public static func readAll(_ url: URL) throws -> [ImageResult] {
        var rows: [ImageResult] = []
        try forEachRow(in: url) { rows.append($0) }
        return rows
    }

    /// Rewrites the file with `pred_label` and `normalized_score` set on every scored row (a
    /// finite score) by `decision`, through a temporary file renamed over the original.
    public static func addDecisions(_ url: URL, decision: ScoreNormalization) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
              let out = FileHandle(forWritingAtPath: temporary.path) else {
            throw ResultsFileError("cannot create \(temporary.path)")
        }
        do {
            var buffer = Data()
            try forEachRow(in: url) { row in
                var row = row
                if let score = row.score, score.isFinite {
                    row.normalizedScore = decision.normalize(score)
                    row.predLabel = decision.isAnomalous(score) ? 1 : 0
                }
                buffer.append(contentsOf: (row.jsonLine + "\n").utf8)
                if buffer.count >= 1 << 20 {
                    try out.write(contentsOf: buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            try out.write(contentsOf: buffer)
            try out.close()
            // rename(2): atomic within the folder (Foundation's replaceItemAt fails on Linux here).
            guard rename(temporary.path, url.path) == 0 else {
                throw ResultsFileError("cannot replace \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? out.close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }
}

extension ImageResult {
    /// Parses one line of results.jsonl (the inverse of `jsonLine`; unknown keys are ignored).
    public init(jsonLine line: Data) throws {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: line) } catch {
            throw ResultsFileError("not JSON")
        }
        guard let fields = object as? [String: Any] else { throw ResultsFileError("not a JSON object") }
        guard let image = fields["image"] as? String else { throw ResultsFileError("no \"image\" string") }
        // A non-finite float is written as null: read back as NaN, so the row stays "scored".
        func float(_ key: String) throws -> Float? {
            guard let v = fields[key] else { return nil }
            if v is NSNull { return .nan }
            guard let n = v as? NSNumber else { throw ResultsFileError("\"\(key)\" is not a number") }
            return Float(n.doubleValue)  // Float's shortest text and back: the same value
        }
        func int(_ key: String) throws -> Int? {
            guard let v = fields[key], !(v is NSNull) else { return nil }
            guard let n = v as? NSNumber, let i = Int(exactly: n.doubleValue) else { throw ResultsFileError("\"\(key)\" is not an integer") }
            return i
        }
        func string(_ key: String) throws -> String? {
            guard let v = fields[key], !(v is NSNull) else { return nil }
            guard let s = v as? String else { throw ResultsFileError("\"\(key)\" is not a string") }
            return s
        }
        self.init(image: image, score: try float("score"), label: try int("label"), map: try string("map"),
                  error: try string("error"), predLabel: try int("pred_label"), normalizedScore: try float("normalized_score"))
        mapSkipped = fields["map"] is NSNull
    }
}
