import Foundation

/// A CurveZMQ certificate file in the format of czmq's zcert and pyzmq's `zmq.auth`
/// (`NAME.key`: the public key; `NAME.key_secret`: both keys), so that certificates made by
/// `winclip-coord keygen`, `zmq.auth.create_certificates` or czmq work with either:
///
///     #   ****  Generated on 2025-01-01 12:00:00 by winclip-coord  ****
///     #   ZeroMQ CURVE Public Certificate
///     ...
///     metadata
///     curve
///         public-key = "Z85 (40 characters)"
///         secret-key = "Z85"              (the secret file only)
public struct CurveCertificate: Sendable, Equatable {
    public var publicKey: CurveKey
    /// Present in a `.key_secret` file.
    public var secretKey: CurveKey?

    public init(publicKey: CurveKey, secretKey: CurveKey? = nil) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    public struct CertificateError: Error, CustomStringConvertible, Equatable, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Reads a certificate as pyzmq's `load_certificate` does (the `public-key` and
    /// `secret-key` lines, comments skipped), checking that the keys are Z85 and belong
    /// together.
    public static func read(_ url: URL) throws(CertificateError) -> CurveCertificate {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw CertificateError("cannot read key file \(url.path): \(error.localizedDescription)")
        }
        return try parse(text, source: url.path)
    }

    public static func parse(_ text: String, source: String) throws(CertificateError) -> CurveCertificate {
        var publicText: String?, secretText: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            for (name, slot) in [("public-key", 0), ("secret-key", 1)] where line.hasPrefix(name) {
                guard let eq = line.firstIndex(of: "=") else { continue }
                let value = line[line.index(after: eq)...].trimmingCharacters(in: CharacterSet(charactersIn: " \t'\""))
                if slot == 0 { publicText = publicText ?? value } else { secretText = secretText ?? value }
            }
        }
        guard let publicText else { throw CertificateError("\(source) holds no public-key line: not a CURVE certificate") }
        do {
            let certificate = CurveCertificate(publicKey: try CurveKey(z85: publicText), secretKey: try secretText.map { try CurveKey(z85: $0) })
            if let secret = certificate.secretKey { _ = try CurveKeyPair(publicKey: certificate.publicKey, secretKey: secret) }
            return certificate
        } catch {
            throw CertificateError("\(source): \(error)")
        }
    }

    /// The pair of a secret certificate.
    public func keyPair(source: String) throws(CertificateError) -> CurveKeyPair {
        guard let secretKey else { throw CertificateError("\(source) holds no secret-key: give the NAME.key_secret file, not NAME.key") }
        do { return try CurveKeyPair(publicKey: publicKey, secretKey: secretKey) } catch { throw CertificateError("\(source): \(error)") }
    }

    /// The file's text, with pyzmq's banner (`generated` is its timestamp line).
    public func text(generated: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var text = "#   ****  Generated on \(formatter.string(from: generated)) by winclip-coord  ****\n"
        if secretKey == nil {
            text += """
            #   ZeroMQ CURVE Public Certificate
            #   Exchange securely, or use a secure mechanism to verify the contents
            #   of this file after exchange. Store public certificates in your home
            #   directory, in the .curve subdirectory.


            """
        } else {
            text += """
            #   ZeroMQ CURVE **Secret** Certificate
            #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.


            """
        }
        text += "metadata\ncurve\n    public-key = \"\(publicKey.z85)\"\n"
        if let secretKey { text += "    secret-key = \"\(secretKey.z85)\"\n" }
        return text
    }

    /// `winclip-coord keygen`: a new pair as DIR/NAME.key (public, mode 0644) and
    /// DIR/NAME.key_secret (mode 0600 from its creation: never readable by others, not even
    /// for a moment). Existing files are never overwritten.
    public static func generate(name: String, directory: URL) throws -> (publicFile: URL, secretFile: URL, keys: CurveKeyPair) {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix("."), name.rangeOfCharacter(from: .whitespacesAndNewlines) == nil else {
            throw CertificateError("key name '\(name)' must be a plain file name (no '/', no spaces, not starting with '.')")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pair = try CurveKeyPair.generate()
        let publicFile = directory.appendingPathComponent("\(name).key")
        let secretFile = directory.appendingPathComponent("\(name).key_secret")
        for file in [publicFile, secretFile] where FileManager.default.fileExists(atPath: file.path) {
            throw CertificateError("\(file.path) exists: keygen never overwrites a key (remove it first to rotate)")
        }
        let now = Date()
        try writeNew(secretFile, CurveCertificate(publicKey: pair.publicKey, secretKey: pair.secretKey).text(generated: now), mode: 0o600)
        try writeNew(publicFile, CurveCertificate(publicKey: pair.publicKey).text(generated: now), mode: 0o644)
        return (publicFile, secretFile, pair)
    }

    /// Creates `url` exclusively with `mode` and writes `text`.
    package static func writeNew(_ url: URL, _ text: String, mode: mode_t) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CertificateError("cannot create \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // The umask may have taken bits away from a public file; a secret keeps exactly 0600.
        fchmod(fd, mode)
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw CertificateError("cannot write \(url.path): \(String(cString: strerror(errno)))") }
            written += n
        }
    }
}
