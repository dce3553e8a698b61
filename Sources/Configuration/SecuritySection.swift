import Foundation
import Transport

extension ClusterConfig {
    /// `security:` of cluster.yaml: CurveZMQ keys and roles, and the limits each peer gets
    /// (docs/security.md).
    public struct SecuritySection: Codable, Equatable, Sendable {
        public enum Mode: String, Codable, Sendable, CaseIterable {
            /// CurveZMQ: encrypted, and only authorised keys may connect, each in its role.
            case curve
            /// No authentication: every process that reaches the endpoint may submit and serve.
            case none
        }

        public var mode = Mode.none
        /// Every peer: the coordinator's public certificate (NAME.key).
        public var coordinatorPublicKey: String?
        /// The coordinator: its secret certificate (NAME.key_secret).
        public var coordinatorSecretKey: String?
        /// A worker or a client: its own secret certificate.
        public var secretKey: String?
        /// The coordinator: folders of the public keys it accepts, one role each.
        public var authorizedWorkers: String?
        public var authorizedClients: String?
        /// Optional: keys that may ask for the whole rack's status (`winclip-coord status`).
        public var authorizedOperators: String?
        /// `mode: none` on an endpoint other machines can reach (refused unless this is set).
        public var allowInsecure = false
        /// Compute text and reference embeddings on two workers and use them only when they
        /// agree bit for bit (nil: when more than one worker key, or worker, is there).
        public var verifySetup: Bool?
        /// Name workers to clients (STATUS, JOB_DONE) by host:pid instead of key name or an
        /// opaque id.
        public var revealWorkerHosts = false
        /// Jobs one client (key, or connection under mode none) may have at once.
        public var maxJobsPerClient = 4
        /// Messages per second a peer may send before the coordinator cuts it off.
        public var maxMessagesPerSecond = 5000.0
        /// Reference images a job may have: bounds the largest frame (ZMQ_MAXMSGSIZE).
        public var maxReferences = 16

        public init() {}

        package enum CodingKeys: String, CodingKey, CaseIterable {
            case mode, coordinatorPublicKey = "coordinator_public_key", coordinatorSecretKey = "coordinator_secret_key",
                 secretKey = "secret_key", authorizedWorkers = "authorized_workers", authorizedClients = "authorized_clients",
                 allowInsecure = "allow_insecure", verifySetup = "verify_setup", revealWorkerHosts = "reveal_worker_hosts",
                 maxJobsPerClient = "max_jobs_per_client", maxMessagesPerSecond = "max_messages_per_second",
                 maxReferences = "max_references", authorizedOperators = "authorized_operators"
        }

        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = SecuritySection()
            if let text = try c.decodeIfPresent(String.self, forKey: .mode) {
                guard let m = Mode(rawValue: text) else {
                    throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath + [CodingKeys.mode],
                                                            debugDescription: "must be curve or none, not '\(text)'"))
                }
                mode = m
            }
            coordinatorPublicKey = try c.decodeIfPresent(String.self, forKey: .coordinatorPublicKey)
            coordinatorSecretKey = try c.decodeIfPresent(String.self, forKey: .coordinatorSecretKey)
            secretKey = try c.decodeIfPresent(String.self, forKey: .secretKey)
            authorizedWorkers = try c.decodeIfPresent(String.self, forKey: .authorizedWorkers)
            authorizedClients = try c.decodeIfPresent(String.self, forKey: .authorizedClients)
            authorizedOperators = try c.decodeIfPresent(String.self, forKey: .authorizedOperators)
            allowInsecure = try c.decodeIfPresent(Bool.self, forKey: .allowInsecure) ?? d.allowInsecure
            verifySetup = try c.decodeIfPresent(Bool.self, forKey: .verifySetup)
            revealWorkerHosts = try c.decodeIfPresent(Bool.self, forKey: .revealWorkerHosts) ?? d.revealWorkerHosts
            maxJobsPerClient = try c.decodeIfPresent(Int.self, forKey: .maxJobsPerClient) ?? d.maxJobsPerClient
            maxMessagesPerSecond = try c.decodeIfPresent(Double.self, forKey: .maxMessagesPerSecond) ?? d.maxMessagesPerSecond
            maxReferences = try c.decodeIfPresent(Int.self, forKey: .maxReferences) ?? d.maxReferences
        }

        /// Key paths resolved against the config file's folder.
        package mutating func resolvePaths(_ resolve: (String) -> String) {
            coordinatorPublicKey = coordinatorPublicKey.map(resolve)
            coordinatorSecretKey = coordinatorSecretKey.map(resolve)
            secretKey = secretKey.map(resolve)
            authorizedWorkers = authorizedWorkers.map(resolve)
            authorizedClients = authorizedClients.map(resolve)
            authorizedOperators = authorizedOperators.map(resolve)
        }

        /// Problems as (key path, problem) pairs; `endpoint` is the coordinator's.
        package func problems(endpoint: String) -> [(path: [String], problem: String)] {
            var found: [([String], String)] = []
            if mode == .none && !allowInsecure && EndpointScope(endpoint: endpoint) == .network {
                found.append((["coordinator", "endpoint"], "\(endpoint) is reachable from other machines while security.mode is none: anyone there could submit jobs, register as a worker, read other users' images and forge their scores. Use security.mode: curve (docs/security.md), a loopback or ipc:// endpoint, or set security.allow_insecure: true"))
            }
            if maxJobsPerClient < 1 { found.append((["security", "max_jobs_per_client"], "must be at least 1, not \(maxJobsPerClient)")) }
            if !(maxMessagesPerSecond > 0) { found.append((["security", "max_messages_per_second"], "must be positive, not \(maxMessagesPerSecond)")) }
            if maxReferences < 1 { found.append((["security", "max_references"], "must be at least 1, not \(maxReferences)")) }
            return found
        }

        /// Refuses `mode: none` on a network endpoint unless `allow_insecure` (the same check
        /// `validate` makes, for an endpoint given on the command line); returns the warning to
        /// print at every start when it is allowed.
        public func checkEndpoint(_ endpoint: String) throws -> String? {
            if let p = problems(endpoint: endpoint).first(where: { $0.path == ["coordinator", "endpoint"] }) {
                throw ConfigError("\(p.path.joined(separator: ".")) \(p.problem)")
            }
            guard mode == .none, EndpointScope(endpoint: endpoint) == .network else { return nil }
            return "INSECURE: security.mode is none on \(endpoint) (allow_insecure: true): any process that reaches it can submit jobs, register as a worker, read other users' images and forge their scores"
        }

        /// The coordinator's CURVE server (its key pair and the authorised key folders).
        public func coordinatorSecurity() throws -> CoordinatorSecurity {
            guard mode == .curve else { return .none }
            let secretPath = try required(coordinatorSecretKey, "coordinator_secret_key", "the coordinator's NAME.key_secret")
            let keys = try CurveCertificate.read(URL(fileURLWithPath: secretPath)).keyPair(source: secretPath)
            if let publicPath = coordinatorPublicKey {
                let declared = try CurveCertificate.read(URL(fileURLWithPath: publicPath)).publicKey
                guard declared == keys.publicKey else {
                    throw ConfigError("security.coordinator_public_key \(publicPath) (\(declared.fingerprint)) is not the public key of coordinator_secret_key \(secretPath) (\(keys.publicKey.fingerprint))")
                }
            }
            let workers = try required(authorizedWorkers, "authorized_workers", "the folder of worker public keys")
            let clients = try required(authorizedClients, "authorized_clients", "the folder of client public keys")
            return .curve(CurveServer(keys: keys, authorizedWorkers: URL(fileURLWithPath: workers), authorizedClients: URL(fileURLWithPath: clients),
                                      authorizedOperators: authorizedOperators.map { URL(fileURLWithPath: $0) }))
        }

        /// A worker's or client's CURVE client (the coordinator's public key and its own pair).
        public func peerSecurity() throws -> PeerSecurity {
            guard mode == .curve else { return .none }
            let publicPath = try required(coordinatorPublicKey, "coordinator_public_key", "the coordinator's NAME.key")
            let secretPath = try required(secretKey, "secret_key", "this worker's or client's NAME.key_secret (or --secret-key)")
            let server = try CurveCertificate.read(URL(fileURLWithPath: publicPath)).publicKey
            let own = try CurveCertificate.read(URL(fileURLWithPath: secretPath)).keyPair(source: secretPath)
            return .curve(serverKey: server, keys: own)
        }

        private func required(_ value: String?, _ key: String, _ what: String) throws -> String {
            guard let value, !value.isEmpty else { throw ConfigError("security.mode is curve but security.\(key) (\(what)) is not set") }
            return value
        }
    }
}
