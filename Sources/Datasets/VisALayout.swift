import Foundation

/// A raw VisA category, as downloaded (`VisA_20220922.tar`):
///
///     <root>/split_csv/1cls.csv                   object,split,label,image,mask
///     <root>/<category>/Data/Images/Normal/*.JPG
///     <root>/<category>/Data/Images/Anomaly/*.JPG
///     <root>/<category>/Data/Masks/Anomaly/*.png  same stem as the image
///
/// With the csv (looked for in `<category>/split_csv/` and then `<root>/split_csv/`), the
/// category's rows (`object` equal to the folder's name, or the only object of a csv inside
/// the category) decide: `test` rows are scored (label `normal` 0, `anomaly` 1 with defect
/// type "anomaly", mask from the `mask` column), `train` rows are the few-shot references in
/// path order — the images anomalib's `apply_cls1_split` copies to `train/good` and `test/`,
/// so scores match anomalib's run on the converted folder (which is read as the MVTec layout).
/// The csv's paths start at the folder holding `split_csv/`; a csv inside the category may
/// also name paths from the category. Files the csv names but that are missing become problems.
///
/// Without a csv every image under `Data/Images/` is scored (Normal 0, Anomaly 1, any other
/// sub-folder unlabelled), masks are `Data/Masks/Anomaly/<stem>.png`, and references are the
/// first of `Data/Images/Normal` (score `items(excludingReferences:)` then).
///
/// The class name is the object's name (the category folder's name), as anomalib's.
extension Dataset {
    package static let visaSplitFile = "split_csv/1cls.csv"

    package static func readVisA(_ root: URL, scanner: DirectoryScanner) throws -> DatasetContents {
        let inside = url(root, relative: visaSplitFile)
        let beside = url(root.deletingLastPathComponent(), relative: visaSplitFile)
        if FileStatus.of(inside).isRegularFile {
            return try readVisASplit(root, csv: inside, base: root, csvInsideCategory: true, scanner: scanner)
        }
        if FileStatus.of(beside).isRegularFile {
            return try readVisASplit(root, csv: beside, base: root.deletingLastPathComponent(), csvInsideCategory: false,
                                     scanner: scanner)
        }
        return try readVisAFolders(root, scanner: scanner)
    }

    package static func readVisASplit(_ root: URL, csv: URL, base: URL, csvInsideCategory: Bool,
                              scanner: DirectoryScanner) throws -> DatasetContents {
        let rows = try VisASplitRow.read(csv)
        var objects = Set(rows.map(\.object))
        var object = root.lastPathComponent
        if !objects.contains(object) {
            guard csvInsideCategory, objects.count == 1, let only = objects.popFirst() else {
                throw DatasetError.splitFile(path: csv.path, message: "no rows for object '\(object)' (objects: \(objects.sorted().joined(separator: ", ")))")
            }
            object = only
        }
        // A csv path names a file from `base`; from inside the category it may also start at it.
        func locate(_ path: String) -> URL {
            var candidates = [url(base, relative: path)]
            if csvInsideCategory, path.hasPrefix(object + "/") { candidates.append(url(root, relative: String(path.dropFirst(object.count + 1)))) }
            return candidates.first { FileStatus.of($0).kind != nil } ?? candidates[0]
        }
        var items: [DatasetItem] = []
        var problems: [DatasetProblem] = []
        var references: [(relative: String, url: URL)] = []
        for row in rows where row.object == object {
            if scanner.shouldStop() { throw DatasetError.interrupted }
            let image = locate(row.image)
            let relative = relativePath(of: image, under: root)
            switch FileStatus.of(image) {
            case .unavailable(let code):
                problems.append(DatasetProblem(relativePath: relative, url: image,
                                               reason: .missing("named by \(csv.path): \(FileStatus.describe(errno: code))")))
                continue
            case .exists(.regular, _, _):
                break
            case .exists(let kind, _, _):
                problems.append(DatasetProblem(relativePath: relative, url: image,
                                               reason: kind == .directory ? .folderInList : .notARegularFile(kind)))
                continue
            }
            switch row.split {
            case "train" where row.isNormal:
                references.append((relative, image))
            case "test":
                var mask: URL?
                if !row.isNormal, !row.mask.isEmpty {
                    let candidate = locate(row.mask)
                    if FileStatus.of(candidate).isRegularFile { mask = candidate }
                }
                items.append(DatasetItem(relativePath: relative, url: image, label: row.isNormal ? 0 : 1, maskURL: mask,
                                         defectType: row.isNormal ? "good" : "anomaly"))
            default:
                continue
            }
        }
        guard !items.isEmpty else {
            if let first = problems.first {
                throw DatasetError.noUsableImages(folder: root.path, problems: problems.count, first: first.description)
            }
            throw DatasetError.splitFile(path: csv.path, message: "no test rows for object '\(object)'")
        }
        items.sort { $0.relativePath < $1.relativePath }
        problems.sort { $0.relativePath < $1.relativePath }
        references.sort { $0.relative < $1.relative }
        return DatasetContents(className: object, items: items, problems: problems, skippedFiles: 0, duplicates: 0,
                               referencePool: .files(references.map(\.url), description: "the train split of \(csv.path)"))
    }

    package static func readVisAFolders(_ root: URL, scanner: DirectoryScanner) throws -> DatasetContents {
        let images = url(root, relative: "Data/Images")
        guard isFolder(images) else { throw DatasetError.missingFolder(images.path) }
        let scan = try scanner.scan(images, relativePrefix: "Data/Images/")
        try requireImages(scan, in: images)
        let masks = url(root, relative: "Data/Masks")
        return DatasetContents(className: root.lastPathComponent, scan: scan,
                               referencePool: .folder(url(images, relative: "Normal"))) { image in
            let underImages = String(image.relativePath.dropFirst("Data/Images/".count))
            let parts = underImages.split(separator: "/", omittingEmptySubsequences: false)
            switch parts.count > 1 ? String(parts[0]) : "" {
            case "Normal":
                return DatasetItem(relativePath: image.relativePath, url: image.url, label: 0, maskURL: nil, defectType: "good")
            case "Anomaly":
                let mask = firstRegularFile(in: masks, ["\(stem(underImages)).png"])
                return DatasetItem(relativePath: image.relativePath, url: image.url, label: 1, maskURL: mask, defectType: "anomaly")
            default:
                return DatasetItem(relativePath: image.relativePath, url: image.url, label: nil, maskURL: nil)
            }
        }
    }
}

/// One row of VisA's `split_csv/1cls.csv`: `object,split,label,image,mask`.
struct VisASplitRow: Equatable {
    var object: String
    var split: String
    var label: String
    var image: String
    var mask: String

    var isNormal: Bool { label == "normal" }

    /// The rows of a split file; the header names the columns (any order, extra columns
    /// ignored). Labels other than `normal` and `anomaly` are an error naming the line.
    static func read(_ url: URL) throws -> [VisASplitRow] {
        guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
            throw DatasetError.splitFile(path: url.path, message: "cannot be read as UTF-8 text")
        }
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .filter { !$0.element.trimmingCharacters(in: .whitespaces).isEmpty }.makeIterator()
        guard let header = lines.next() else { throw DatasetError.splitFile(path: url.path, message: "is empty") }
        let names = splitCSVLine(String(header.element)).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var column: [String: Int] = [:]
        for key in ["object", "split", "label", "image", "mask"] {
            guard let index = names.firstIndex(of: key) else {
                throw DatasetError.splitFile(path: url.path, message: "the header has no '\(key)' column (expected object,split,label,image,mask)")
            }
            column[key] = index
        }
        var rows: [VisASplitRow] = []
        while let (index, line) = lines.next() {
            let fields = splitCSVLine(String(line)).map { $0.trimmingCharacters(in: .whitespaces) }
            func field(_ key: String) -> String { column[key]! < fields.count ? fields[column[key]!] : "" }
            let row = VisASplitRow(object: field("object"), split: field("split"), label: field("label"),
                                   image: field("image"), mask: field("mask"))
            guard row.label == "normal" || row.label == "anomaly" else {
                throw DatasetError.splitFile(path: url.path, message: "line \(index + 1): label '\(row.label)' is neither 'normal' nor 'anomaly'")
            }
            guard !row.image.isEmpty else {
                throw DatasetError.splitFile(path: url.path, message: "line \(index + 1): no image path")
            }
            rows.append(row)
        }
        return rows
    }

    /// Fields of one CSV line (RFC 4180 quoting: "a,b" and "" inside quotes).
    static func splitCSVLine(_ line: String) -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var chars = line.makeIterator()
        while let c = chars.next() {
            if quoted {
                if c == "\"" {
                    // A doubled quote is a literal quote; a single one ends the quoted part.
                    var lookahead = chars
                    if lookahead.next() == "\"" { field.append("\""); chars = lookahead } else { quoted = false }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(c)
            }
        }
        fields.append(field)
        return fields
    }
}
