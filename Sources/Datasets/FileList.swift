import Foundation

/// A file list (`--file-list FILE`, `-` for standard input), for archives not laid out as
/// folders: one image path per line; blank lines and lines starting with '#' are skipped;
/// surrounding spaces and a Windows '\r' are trimmed. Relative paths start at the list's
/// folder, or at the current folder for standard input and for a list that is not a regular
/// file (a pipe such as `<(find …)`). Items keep the list's order; a line naming an image
/// already listed is counted in `duplicates` and scored once. Missing files, folders, special
/// files and names without an image extension become problems (error rows), never a crash.
/// Items are unlabelled; the class name is "object".
extension Dataset {
    /// - Parameters:
    ///   - fileList: the list's path, or "-" for standard input.
    ///   - currentDirectory: where relative paths of standard input or a pipe start.
    public init(fileList: String, currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) throws {
        let text: String, base: URL, name: String
        if fileList == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let decoded = String(data: data, encoding: .utf8) else { throw DatasetError.fileList(path: "-", message: "standard input is not UTF-8 text") }
            (text, base, name) = (decoded, currentDirectory, "stdin")
        } else {
            let url = URL(fileURLWithPath: fileList)
            switch FileStatus.of(url) {
            case .unavailable(let code):
                throw DatasetError.fileList(path: fileList, message: FileStatus.describe(errno: code))
            case .exists(.directory, _, _):
                throw DatasetError.fileList(path: fileList, message: "is a folder; a file list is a text file with one image path per line")
            case .exists(let kind, _, _):
                guard let handle = FileHandle(forReadingAtPath: fileList) else {
                    throw DatasetError.fileList(path: fileList, message: "cannot be opened")
                }
                defer { try? handle.close() }
                let data = handle.readDataToEndOfFile()
                guard let decoded = String(data: data, encoding: .utf8) else { throw DatasetError.fileList(path: fileList, message: "is not UTF-8 text") }
                text = decoded
                base = kind == .regular ? url.deletingLastPathComponent().standardizedFileURL : currentDirectory
                name = url.deletingPathExtension().lastPathComponent
            }
        }
        try self.init(fileListText: text, base: base, name: name, listPath: fileList)
    }

    /// A file list's contents; relative paths start at `base`. `listPath` names the list in errors.
    public init(fileListText text: String, base: URL, name: String, listPath: String) throws {
        var items: [DatasetItem] = []
        var problems: [DatasetProblem] = []
        var seen = Set<String>()
        var duplicates = 0
        for line in text.split(whereSeparator: \.isNewline) {
            let path = line.trimmingCharacters(in: .whitespaces)
            if path.isEmpty || path.hasPrefix("#") { continue }
            let url = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)).standardizedFileURL
            let relative = Self.relativePath(of: url, under: base)
            guard seen.insert(url.path).inserted else {
                duplicates += 1
                continue
            }
            let problem: DatasetProblem.Reason?
            switch FileStatus.of(url) {
            case .unavailable(let code): problem = .missing("listed in \(listPath): \(FileStatus.describe(errno: code))")
            case .exists(.directory, _, _): problem = .folderInList
            case .exists(.regular, _, _): problem = Self.isImageFile(url.lastPathComponent) ? nil : .notAnImageName
            case .exists(let kind, _, _): problem = .notARegularFile(kind)
            }
            if let problem {
                problems.append(DatasetProblem(relativePath: relative, url: url, reason: problem))
            } else {
                items.append(DatasetItem(relativePath: relative, url: url, label: nil, maskURL: nil))
            }
        }
        if items.isEmpty {
            if let first = problems.first {
                throw DatasetError.noUsableImages(folder: listPath, problems: problems.count, first: first.description)
            }
            throw DatasetError.fileList(path: listPath, message: "names no image (one path per line; '#' starts a comment)")
        }
        self.init(root: base, name: name, layout: .fileList,
                  contents: DatasetContents(className: "object", items: items, problems: problems, skippedFiles: 0,
                                            duplicates: duplicates, referencePool: .none))
    }
}
