import Foundation

/// The hub endpoint, cache folder, token and offline switch, read from the environment the
/// way huggingface_hub's `constants.py` and `utils/_auth.py` read them, so that both share
/// one cache and one login.
public struct HubSettings: Equatable, Sendable {
    public static let defaultEndpoint = "https://huggingface.co"

    /// No trailing '/'.
    public var endpoint: String
    public var cacheDirectory: URL
    /// Sent as `authorization: Bearer TOKEN` to the endpoint (not to a CDN on another host).
    public var token: String?
    /// The variable that switched offline mode on (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE).
    public var offlineVariable: String?
    /// Seconds to wait for the metadata answer (HF_HUB_ETAG_TIMEOUT, default 10).
    public var metadataTimeout: Double = 10
    /// Seconds without data before a download is taken as stalled (HF_HUB_DOWNLOAD_TIMEOUT, default 10).
    public var downloadTimeout: Double = 10
    /// Resumes (Range requests) within one download after the connection drops mid-body.
    public var downloadRetries = 5

    public var isOffline: Bool { offlineVariable != nil }

    public init(endpoint: String = defaultEndpoint, cacheDirectory: URL, token: String? = nil, offlineVariable: String? = nil) {
        self.endpoint = Self.trimmed(endpoint)
        self.cacheDirectory = cacheDirectory
        self.token = token
        self.offlineVariable = offlineVariable
    }

    /// - HF_ENDPOINT (default https://huggingface.co)
    /// - HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE (legacy), else $HF_HOME/hub, where HF_HOME
    ///   defaults to $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface
    /// - HF_TOKEN, else HUGGING_FACE_HUB_TOKEN (legacy), else the file HF_TOKEN_PATH (default
    ///   $HF_HOME/token, written by `huggingface-cli login`); none if HF_HUB_DISABLE_IMPLICIT_TOKEN
    /// - HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE = 1/ON/YES/TRUE
    /// `homeDirectory`: for "~" (default: HOME of `environment`, else this user's home).
    public init(environment env: [String: String], homeDirectory: String? = nil) {
        let homeDirectory = homeDirectory ?? env["HOME"] ?? NSHomeDirectory()
        func value(_ name: String) -> String? {
            guard let v = env[name], !v.isEmpty else { return nil }
            return v
        }
        func expand(_ path: String) -> String {
            var p = path
            if p == "~" || p.hasPrefix("~/") { p = homeDirectory + p.dropFirst() }
            return Self.expandVariables(p, env)
        }
        let cacheHome = value("XDG_CACHE_HOME") ?? (homeDirectory + "/.cache")
        let hfHome = expand(value("HF_HOME") ?? (cacheHome + "/huggingface"))
        let cache = expand(value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") ?? (hfHome + "/hub"))
        let tokenPath = expand(value("HF_TOKEN_PATH") ?? (hfHome + "/token"))
        var token = Self.cleanToken(value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN"))
        if token == nil, !Self.isTrue(env["HF_HUB_DISABLE_IMPLICIT_TOKEN"]) {
            token = Self.cleanToken(try? String(contentsOfFile: tokenPath, encoding: .utf8))
        }
        let offline = ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"].first { Self.isTrue(env[$0]) }
        self.init(endpoint: value("HF_ENDPOINT") ?? Self.defaultEndpoint, cacheDirectory: URL(fileURLWithPath: cache, isDirectory: true),
                  token: token, offlineVariable: offline)
        if let t = value("HF_HUB_ETAG_TIMEOUT").flatMap(Double.init), t > 0 { metadataTimeout = t }
        if let t = value("HF_HUB_DOWNLOAD_TIMEOUT").flatMap(Double.init), t > 0 { downloadTimeout = t }
    }

    /// Python's `os.path.expandvars`: `$NAME` and `${NAME}` replaced when NAME is set, left as
    /// they are otherwise.
    static func expandVariables(_ text: String, _ env: [String: String]) -> String {
        let chars = Array(text)
        var out = ""
        var i = 0
        func isWord(_ c: Character) -> Bool { c == "_" || c.isLetter || c.isNumber }
        while i < chars.count {
            guard chars[i] == "$", i + 1 < chars.count else { out.append(chars[i]); i += 1; continue }
            var j = i + 1
            let name: String
            if chars[j] == "{" {
                guard let close = chars[(j + 1)...].firstIndex(of: "}") else { out.append(chars[i]); i += 1; continue }
                name = String(chars[(j + 1)..<close])
                j = close + 1
            } else {
                while j < chars.count, isWord(chars[j]) { j += 1 }
                name = String(chars[(i + 1)..<j])
            }
            guard !name.isEmpty else { out.append("$"); i += 1; continue }
            if let v = env[name] { out += v } else { out += String(chars[i..<j]) }
            i = j
        }
        return out
    }

    /// huggingface_hub's `_is_true`: 1, ON, YES, TRUE in any case.
    static func isTrue(_ v: String?) -> Bool {
        guard let v else { return false }
        return ["1", "ON", "YES", "TRUE"].contains(v.uppercased())
    }

    static func cleanToken(_ t: String?) -> String? {
        guard let t = t?.trimmingCharacters(in: .whitespacesAndNewlines), !t.isEmpty else { return nil }
        return t
    }

    static func trimmed(_ endpoint: String) -> String {
        var e = endpoint
        while e.hasSuffix("/") { e.removeLast() }
        return e
    }

    /// `{endpoint}/{repo}/resolve/{revision}/{file}` with huggingface_hub's quoting (the
    /// revision fully, the file path except its '/').
    public func resolveURL(_ ref: HubFileReference) -> URL? {
        let revision = ref.revision.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? ref.revision
        let file = ref.file.split(separator: "/").map { $0.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? String($0) }
            .joined(separator: "/")
        return URL(string: "\(endpoint)/\(ref.repo)/resolve/\(revision)/\(file)")
    }

    /// Python's `urllib.parse.quote` leaves these alone.
    static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")
}
