import Datasets
import Foundation

/// A file of the output folder that cannot be written (or read back), as a plain sentence:
/// Foundation's own errors read "Error Domain=NSCocoaErrorDomain Code=640 ..." and name no cure.
public struct OutputFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Problem: Equatable, Sendable {
        case diskFull
        case noPermission
        case readOnlyFileSystem
        /// The path is a folder where a file belongs (a `results.jsonl/` folder).
        case isFolder
        /// A part of the path is a file where a folder belongs.
        case notAFolder
        /// Anything else, in the system's words (`strerror`).
        case other(String)
    }

    public let problem: Problem
    public let path: String
    /// Reading back (resume, report) rather than writing.
    public let reading: Bool

    public init(_ problem: Problem, path: String, reading: Bool = false) {
        self.problem = problem
        self.path = path
        self.reading = reading
    }

    public var description: String {
        let verb = reading ? "cannot read" : "cannot write"
        switch problem {
        case .diskFull:
            return "\(verb) \(path): the disk is full. Free some space, or choose an --output on another disk, and continue with --resume"
        case .noPermission:
            return "\(verb) \(path): no permission there. Choose another --output, or change the folder's permissions"
        case .readOnlyFileSystem:
            return "\(verb) \(path): the disk is mounted read-only. Choose another --output"
        case .isFolder:
            return "\(path) is a folder, where the job keeps a file. Move it aside, or choose another --output"
        case .notAFolder:
            return "\(verb) \(path): a part of that path is a file, not a folder. Choose another --output"
        case .other(let reason):
            return "\(verb) \(path): \(reason)"
        }
    }

    /// The plain form of a file-system error thrown by Foundation (or a POSIX error), or nil when
    /// `error` is not one. `path` names the file when the error does not.
    public static func from(_ error: Error, path fallback: String) -> OutputFailure? {
        if let failure = error as? OutputFailure { return failure }
        let ns = error as NSError
        let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path ?? fallback
        var code: Int32?
        var reading = false
        if let posix = error as? POSIXError {
            code = posix.code.rawValue
        } else if ns.domain == NSPOSIXErrorDomain {
            code = Int32(ns.code)
        } else if ns.domain == NSCocoaErrorDomain {
            reading = (CocoaError.Code.fileReadUnknown.rawValue...CocoaError.Code.fileReadUnknownStringEncoding.rawValue).contains(ns.code)
                || ns.code == CocoaError.Code.fileNoSuchFile.rawValue
            if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
                code = Int32(underlying.code)
            } else {
                switch CocoaError.Code(rawValue: ns.code) {
                case .fileWriteOutOfSpace: code = ENOSPC
                case .fileWriteNoPermission, .fileReadNoPermission: code = EACCES
                case .fileWriteVolumeReadOnly: code = EROFS
                case .fileNoSuchFile, .fileReadNoSuchFile: code = ENOENT
                default: return OutputFailure(diagnose(path), path: path, reading: reading)
                }
            }
        } else {
            return nil
        }
        guard let code else { return nil }
        return OutputFailure(problem(errno: code), path: path, reading: reading)
    }

    /// Foundation sometimes drops the system's reason (corelibs' `createDirectory` under a
    /// file: "NSCocoaErrorDomain error 512"): the path itself tells what is in the way.
    package static func diagnose(_ path: String) -> Problem {
        var url = URL(fileURLWithPath: path)
        if FileStatus.of(url).isDirectory { return .isFolder }
        while url.path != "/" {
            url.deleteLastPathComponent()
            switch FileStatus.of(path: url.path, followLinks: true) {
            case .unavailable: continue
            case .exists(.directory, _, _): return access(url.path, W_OK) == 0 ? .other("the file system refused it") : .noPermission
            case .exists: return .notAFolder
            }
        }
        return .other("the file system refused it")
    }

    package static func problem(errno code: Int32) -> Problem {
        switch code {
        case ENOSPC, EDQUOT: return .diskFull
        case EACCES, EPERM: return .noPermission
        case EROFS: return .readOnlyFileSystem
        case EISDIR: return .isFolder
        case ENOTDIR: return .notAFolder
        default: return .other(String(cString: strerror(code)))
        }
    }

    /// Runs `body`, turning a file-system error into an `OutputFailure` about `path`.
    public static func translating<T>(path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            throw from(error, path: path) ?? error
        }
    }
}
