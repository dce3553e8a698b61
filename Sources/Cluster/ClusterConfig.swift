import Foundation
import Yams

/// `cluster.yaml`: where the coordinator is, which model workers load, WinCLIP's options.
/// Relative paths are resolved against the file's folder. Command-line options override it.
public struct ClusterConfig: Sendable, Equatable {
    public var endpoint: String = "tcp://127.0.0.1:5555"
    public var heartbeatInterval: Double = 1.0
    public var workerExpiry: Double = 5.0
    public var modelConfig: String = "ViT-B-16-plus-240"
    public var weights: String?
    /// An open_clip pretrained tag (model.pretrained); nil: the config's default tag.
    public var pretrained: String?
    public var scales: [Int] = [2, 3]
    public var windowAttention: String = "anomalib"
    public var windowBatch: Int = 0
    public var workerThreads: Int = 1

    public init() {}

    public struct ConfigError: Error, CustomStringConvertible { public let description: String }

    public static func load(path: String) throws -> ClusterConfig {
        let url = URL(fileURLWithPath: path)
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigError(description: "cannot read cluster config \(path): \(error.localizedDescription)")
        }
        return try parse(text, baseDirectory: url.deletingLastPathComponent(), source: path)
    }

    public static func parse(_ text: String, baseDirectory: URL, source: String = "cluster.yaml") throws -> ClusterConfig {
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            throw ConfigError(description: "\(source) is not valid YAML: \(error)")
        }
        guard let root = node as? [String: Any] else { throw ConfigError(description: "\(source): expected a mapping at the top") }
        var c = ClusterConfig()
        func section(_ name: String) throws -> [String: Any] {
            guard let v = root[name] else { return [:] }
            guard let m = v as? [String: Any] else { throw ConfigError(description: "\(source): '\(name)' must be a mapping") }
            return m
        }
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : baseDirectory.appendingPathComponent(path).standardizedFileURL.path
        }
        let known: Set<String> = ["coordinator", "model", "winclip", "worker"]
        if let unknown = root.keys.first(where: { !known.contains($0) }) {
            throw ConfigError(description: "\(source): unknown section '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        let coordinator = try section("coordinator")
        if let v = coordinator["endpoint"] as? String { c.endpoint = v }
        if let v = number(coordinator["heartbeat_seconds"]) { c.heartbeatInterval = v }
        if let v = number(coordinator["worker_expiry_seconds"]) { c.workerExpiry = v }
        let model = try section("model")
        if let v = model["config"] as? String {
            // A JSON path is relative to the YAML; a built-in name is kept as is.
            c.modelConfig = v.hasSuffix(".json") ? resolve(v) : v
        }
        // A hub URI (hf://...) is kept as is; a path is relative to the YAML.
        if let v = model["weights"] as? String { c.weights = v.hasPrefix("hf://") ? v : resolve(v) }
        if let v = model["pretrained"] as? String { c.pretrained = v }
        let winclip = try section("winclip")
        if let v = winclip["scales"] {
            guard let list = v as? [Any], case let ints = list.compactMap({ $0 as? Int }), ints.count == list.count, !ints.isEmpty, ints.allSatisfy({ $0 > 0 }) else {
                throw ConfigError(description: "\(source): winclip.scales must be a list of positive integers, e.g. [2, 3]")
            }
            c.scales = ints
        }
        if let v = winclip["window_attention"] as? String { c.windowAttention = v }
        if let v = winclip["window_batch"] as? Int { c.windowBatch = v }
        let worker = try section("worker")
        if let v = worker["threads"] as? Int { c.workerThreads = max(1, v) }
        return c
    }

    private static func number(_ v: Any?) -> Double? {
        if let d = v as? Double { return d }
        if let i = v as? Int { return Double(i) }
        return nil
    }
}
