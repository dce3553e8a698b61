import Foundation
import Options
import Transport
import Yams

/// `cluster.yaml`: where the coordinator is, which model workers load, the WinCLIP options of
/// submits and the workers' threads. Decoded into these types strictly: an unknown key or a
/// value of the wrong type is an error naming the key and its line. Relative paths are
/// resolved against the file's folder. Command-line options override it.
public struct ClusterConfig: Codable, Equatable, Sendable {
    public var coordinator = CoordinatorSection()
    public var model = ModelSection()
    /// The job options submits take from the file (`scales`, `window_attention`, …).
    public var winclip = JobOptions()
    public var worker = WorkerSection()
    public var submit = SubmitSection()
    /// CurveZMQ keys and roles, and per-peer limits (SecuritySection.swift, docs/security.md).
    public var security = SecuritySection()

    public init() {}

    public struct CoordinatorSection: Codable, Equatable, Sendable {
        public var endpoint = "tcp://127.0.0.1:5555"
        public var heartbeatSeconds = 1.0
        public var workerExpirySeconds = 5.0
        public var clientExpirySeconds = 30.0
        /// A unit is late after this many times the median compute time of its kind...
        public var unitDeadlineFactor = 4.0
        /// ...and at least this many seconds; then another worker computes it too.
        public var unitDeadlineFloorSeconds = 10.0
        /// A job whose model has no live worker this long fails.
        public var noWorkerTimeoutSeconds = 600.0
        /// Distinct workers a unit is tried on after bad answers before it becomes an error row.
        public var unitAttempts = 3
        /// Missed deadlines, or bad answers proven wrong, that quarantine a worker (K).
        public var quarantineAfter = 3
        /// HOST:PORT of `/metrics` and the status page (nil: off).
        public var metricsEndpoint: String?
        public init() {}
        package enum CodingKeys: String, CodingKey, CaseIterable {
            case endpoint, heartbeatSeconds = "heartbeat_seconds", workerExpirySeconds = "worker_expiry_seconds",
                 clientExpirySeconds = "client_expiry_seconds", unitDeadlineFactor = "unit_deadline_factor",
                 unitDeadlineFloorSeconds = "unit_deadline_floor_seconds", noWorkerTimeoutSeconds = "no_worker_timeout_seconds",
                 metricsEndpoint = "metrics_endpoint",
                 unitAttempts = "unit_attempts", quarantineAfter = "quarantine_after"
        }
        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            endpoint = try c.decodeIfPresent(String.self, forKey: .endpoint) ?? endpoint
            heartbeatSeconds = try c.decodeIfPresent(Double.self, forKey: .heartbeatSeconds) ?? heartbeatSeconds
            workerExpirySeconds = try c.decodeIfPresent(Double.self, forKey: .workerExpirySeconds) ?? workerExpirySeconds
            clientExpirySeconds = try c.decodeIfPresent(Double.self, forKey: .clientExpirySeconds) ?? clientExpirySeconds
            unitDeadlineFactor = try c.decodeIfPresent(Double.self, forKey: .unitDeadlineFactor) ?? unitDeadlineFactor
            unitDeadlineFloorSeconds = try c.decodeIfPresent(Double.self, forKey: .unitDeadlineFloorSeconds) ?? unitDeadlineFloorSeconds
            noWorkerTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .noWorkerTimeoutSeconds) ?? noWorkerTimeoutSeconds
            metricsEndpoint = try c.decodeIfPresent(String.self, forKey: .metricsEndpoint)
            unitAttempts = try c.decodeIfPresent(Int.self, forKey: .unitAttempts) ?? unitAttempts
            quarantineAfter = try c.decodeIfPresent(Int.self, forKey: .quarantineAfter) ?? quarantineAfter
        }
    }

    /// How a submit rides out a lost coordinator.
    public struct SubmitSection: Codable, Equatable, Sendable {
        /// Silence from the coordinator after which the job is submitted again.
        public var silenceSeconds = 10.0
        /// How long a lost job keeps trying to come back before the submit gives up.
        public var reconnectGraceSeconds = 300.0
        public init() {}
        package enum CodingKeys: String, CodingKey, CaseIterable {
            case silenceSeconds = "silence_seconds", reconnectGraceSeconds = "reconnect_grace_seconds"
        }
        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            silenceSeconds = try c.decodeIfPresent(Double.self, forKey: .silenceSeconds) ?? silenceSeconds
            reconnectGraceSeconds = try c.decodeIfPresent(Double.self, forKey: .reconnectGraceSeconds) ?? reconnectGraceSeconds
        }
    }

    public struct ModelSection: Codable, Equatable, Sendable {
        /// A built-in open_clip config name or a JSON path.
        public var config = "ViT-B-16-plus-240"
        /// open_clip weights as safetensors: a path or hf://OWNER/REPO[@REVISION]/FILE.
        public var weights: String?
        /// An open_clip pretrained tag of the built-in config (nil: its default tag); `weights`
        /// wins over it.
        public var pretrained: String?
        public init() {}
        package enum CodingKeys: String, CodingKey, CaseIterable { case config, weights, pretrained }
        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            config = try c.decodeIfPresent(String.self, forKey: .config) ?? config
            weights = try c.decodeIfPresent(String.self, forKey: .weights)
            pretrained = try c.decodeIfPresent(String.self, forKey: .pretrained)
        }
    }

    public struct WorkerSection: Codable, Equatable, Sendable {
        /// BLAS threads per worker process (run one worker per core with 1 thread each).
        public var threads = 1
        public init() {}
        package enum CodingKeys: String, CodingKey, CaseIterable { case threads }
        public init(from decoder: Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            threads = try c.decodeIfPresent(Int.self, forKey: .threads) ?? threads
        }
    }

    package enum CodingKeys: String, CodingKey, CaseIterable { case coordinator, model, winclip, worker, submit, security }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        coordinator = try c.decodeIfPresent(CoordinatorSection.self, forKey: .coordinator) ?? coordinator
        model = try c.decodeIfPresent(ModelSection.self, forKey: .model) ?? model
        winclip = try c.decodeIfPresent(JobOptions.self, forKey: .winclip) ?? winclip
        worker = try c.decodeIfPresent(WorkerSection.self, forKey: .worker) ?? worker
        submit = try c.decodeIfPresent(SubmitSection.self, forKey: .submit) ?? submit
        security = try c.decodeIfPresent(SecuritySection.self, forKey: .security) ?? security
    }

    // MARK: - Loading

    public struct ConfigError: Error, CustomStringConvertible, Equatable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public static func load(path: String) throws -> ClusterConfig {
        let url = URL(fileURLWithPath: path)
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigError("cannot read cluster config \(path): \(error.localizedDescription)")
        }
        return try parse(text, baseDirectory: url.deletingLastPathComponent(), source: path)
    }

    public static func parse(_ text: String, baseDirectory: URL, source: String = "cluster.yaml") throws -> ClusterConfig {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ConfigError("\(source) is not valid YAML: \(error)")
        }
        guard let root else { return ClusterConfig() }  // an empty file: every default
        try DuplicateKey.check(root, source: source)
        var config: ClusterConfig
        do { config = try YAMLDecoder().decode(ClusterConfig.self, from: text) } catch let error as DecodingError {
            throw ConfigError(describe(error, in: root, source: source))
        }
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") || path.hasPrefix("hf://") ? path : baseDirectory.appendingPathComponent(path).standardizedFileURL.path
        }
        // A JSON config path is relative to the YAML; a built-in name is kept as is.
        if config.model.config.hasSuffix(".json") { config.model.config = resolve(config.model.config) }
        config.model.weights = config.model.weights.map(resolve)
        config.security.resolvePaths(resolve)
        try config.validate(source: source, root: root)
        return config
    }

    /// Values that parse but cannot work, named by key (and line when known).
    public func validate(source: String = "cluster.yaml", root: Node? = nil) throws {
        func fail(_ path: [String], _ problem: String) throws -> Never {
            let line = root.flatMap { Self.line(of: path, in: $0) }.map { " (line \($0))" } ?? ""
            throw ConfigError("\(source): \(path.joined(separator: "."))\(line) \(problem)")
        }
        let c = coordinator
        if c.endpoint.isEmpty { try fail(["coordinator", "endpoint"], "is empty") }
        if let problem = EndpointAddress.portProblem(c.endpoint) { try fail(["coordinator", "endpoint"], problem) }
        if !(c.heartbeatSeconds > 0) { try fail(["coordinator", "heartbeat_seconds"], "must be positive, not \(c.heartbeatSeconds)") }
        if !(c.workerExpirySeconds > c.heartbeatSeconds) {
            try fail(["coordinator", "worker_expiry_seconds"], "(\(c.workerExpirySeconds)) must be longer than heartbeat_seconds (\(c.heartbeatSeconds))")
        }
        if !(c.clientExpirySeconds > c.heartbeatSeconds) {
            try fail(["coordinator", "client_expiry_seconds"], "(\(c.clientExpirySeconds)) must be longer than heartbeat_seconds (\(c.heartbeatSeconds))")
        }
        if !(c.unitDeadlineFactor >= 1) { try fail(["coordinator", "unit_deadline_factor"], "must be at least 1, not \(c.unitDeadlineFactor)") }
        if !(c.unitDeadlineFloorSeconds > 0) { try fail(["coordinator", "unit_deadline_floor_seconds"], "must be positive, not \(c.unitDeadlineFloorSeconds)") }
        if c.unitAttempts < 1 { try fail(["coordinator", "unit_attempts"], "must be at least 1, not \(c.unitAttempts)") }
        if c.quarantineAfter < 1 { try fail(["coordinator", "quarantine_after"], "must be at least 1, not \(c.quarantineAfter)") }
        if !(c.noWorkerTimeoutSeconds > c.workerExpirySeconds) {
            try fail(["coordinator", "no_worker_timeout_seconds"], "(\(c.noWorkerTimeoutSeconds)) must be longer than worker_expiry_seconds (\(c.workerExpirySeconds))")
        }
        if !(submit.silenceSeconds > c.heartbeatSeconds) {
            try fail(["submit", "silence_seconds"], "(\(submit.silenceSeconds)) must be longer than coordinator.heartbeat_seconds (\(c.heartbeatSeconds))")
        }
        if !(submit.reconnectGraceSeconds >= 0) { try fail(["submit", "reconnect_grace_seconds"], "must not be negative") }
        if worker.threads < 1 { try fail(["worker", "threads"], "must be at least 1, not \(worker.threads)") }
        do { try winclip.validate(referenceCount: 0) } catch { try fail(["winclip"], "\(error)") }
        if let p = security.problems(endpoint: c.endpoint).first { try fail(p.path, p.problem) }
    }

    /// A decoding error as a sentence naming the key path and its line.
    package static func describe(_ error: DecodingError, in root: Node, source: String) -> String {
        let (path, problem): ([CodingKey], String)
        switch error {
        case .typeMismatch(let type, let c):
            let found = Self.node(at: c.codingPath.map(\.stringValue), in: root)?.string.map { ", not '\($0)'" } ?? ""
            (path, problem) = (c.codingPath, "must be \(describe(type))\(found)")
        case .valueNotFound(let type, let c): (path, problem) = (c.codingPath, "must be \(describe(type)), not empty")
        case .keyNotFound(let key, let c): (path, problem) = (c.codingPath + [key], "is missing")
        case .dataCorrupted(let c): (path, problem) = (c.codingPath, c.debugDescription)
        @unknown default: (path, problem) = ([], "\(error)")
        }
        let keys = path.map(\.stringValue)
        let line = Self.line(of: keys, in: root).map { " (line \($0))" } ?? ""
        if problem.hasPrefix("unknown key") {
            let parent = keys.dropLast().joined(separator: ".")
            return "\(source): \(problem) \(parent.isEmpty ? "at the top" : "in '\(parent)'")\(line)"
        }
        return "\(source): \(keys.joined(separator: "."))\(line) \(problem)"
    }

    package static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type: return "an integer"
        case is [Int].Type: return "a list of integers"
        default: return "a \(type)"
        }
    }

    /// The node at a key path, when there is one.
    package static func node(at path: [String], in root: Node) -> Node? {
        var node = root
        for key in path {
            if let mapping = node.mapping, let entry = mapping.first(where: { $0.key.string == key }) {
                node = entry.value
            } else if let sequence = node.sequence, let i = Int(key), i < sequence.count {
                node = sequence[i]
            } else {
                return nil
            }
        }
        return node
    }

    /// The 1-based line of the value (or key) at a key path, from the composed YAML.
    package static func line(of path: [String], in root: Node) -> Int? {
        var node = root
        var line = root.mark?.line
        for key in path {
            if let mapping = node.mapping {
                guard let entry = mapping.first(where: { $0.key.string == key }) else { break }
                line = entry.key.mark?.line ?? line
                node = entry.value
            } else if let sequence = node.sequence, let i = Int(key), i < sequence.count {
                node = sequence[i]
                line = node.mark?.line ?? line
            } else {
                break
            }
        }
        return line
    }
}
