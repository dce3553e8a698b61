import ArgumentParser
import Foundation
import Transport

extension WinCLIPCoord {
    /// `winclip-coord keygen NAME [--dir DIR]`: a CurveZMQ key pair as czmq/pyzmq certificates.
    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a CurveZMQ key pair for the coordinator, a worker or a client (security.mode curve).",
            discussion: """
            Writes DIR/NAME.key (the public key: copy it into the coordinator's authorized_workers \
            or authorized_clients folder, or give it to peers as coordinator_public_key) and \
            DIR/NAME.key_secret (the secret key, mode 0600: it never leaves the machine that uses \
            it). The files are czmq/pyzmq certificates (zmq.auth), so their tools read them and \
            their certificates work here. NAME is how logs and job summaries name the key. \
            Existing files are never overwritten. See docs/security.md.
            """)

        @Argument(help: "The key's name (a plain file name, e.g. coordinator, worker-01, alice).")
        var name: String

        @Option(help: "Folder to write the two files into (created if missing).")
        var dir: String = "."

        func run() throws {
            try reportingErrors {
                let made = try CurveCertificate.generate(name: name, directory: URL(fileURLWithPath: dir))
                print("public key  \(made.publicFile.path)")
                print("secret key  \(made.secretFile.path) (mode 0600)")
                print("fingerprint \(made.keys.publicKey.fingerprint)")
            }
        }
    }
}
