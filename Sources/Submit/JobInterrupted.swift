import Foundation

/// A submit stopped by the user (Ctrl-C, SIGTERM) after its output folder existed: what was
/// written stands, and `resumeCommand` continues the job.
public struct JobInterrupted: Error, Equatable, Sendable, CustomStringConvertible {
    public let output: String
    /// The command line that was run, with `--resume --output OUTPUT` (shell-quoted); nil when
    /// the command line is not known (a library caller).
    public let resumeCommand: String?

    public init(output: String, arguments: [String]) {
        self.output = output
        resumeCommand = arguments.isEmpty ? nil : Self.resumeCommand(arguments, output: output)
    }

    public var description: String {
        "interrupted; the results written so far are kept in \(output). Continue the job with:\n  "
            + (resumeCommand ?? "the same command and --resume --output \(Self.quoted(output))")
    }

    /// `arguments` (argv, the program first) without `--resume` and `--output`, then
    /// `--resume --output OUTPUT`, each argument quoted for a POSIX shell where it needs it.
    public static func resumeCommand(_ arguments: [String], output: String) -> String {
        var kept: [String] = []
        var skipNext = false
        for argument in arguments {
            if skipNext { skipNext = false; continue }
            if argument == "--resume" || argument.hasPrefix("--output=") { continue }
            if argument == "--output" { skipNext = true; continue }
            kept.append(argument)
        }
        return (kept + ["--resume", "--output", output]).map(quoted).joined(separator: " ")
    }

    /// `text` as one shell word: bare when it holds only safe characters, else single-quoted.
    static func quoted(_ text: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")
        if !text.isEmpty, text.allSatisfy({ safe.contains($0) }) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
