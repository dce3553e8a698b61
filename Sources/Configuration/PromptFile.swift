import Foundation
import Options
import Yams

/// `--prompts FILE`: a prompt ensemble in YAML or JSON (JSON is YAML), the keys of `PromptSet`:
///
///     normal_states: ["{}", "flawless {}"]
///     anomalous_states: ["damaged {}", "{} with a crack"]
///     templates: ["a photo of the {}.", "a close-up photo of a {}."]
public enum PromptFile {
    public static func load(path: String) throws -> PromptSet {
        let text: String
        do { text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8) } catch {
            throw OptionsError("cannot read --prompts \(path): \(error.localizedDescription)")
        }
        let set: PromptSet
        do {
            if let root = try Yams.compose(yaml: text) { try DuplicateKey.check(root, source: path) }
            set = try YAMLDecoder().decode(PromptSet.self, from: text)
        } catch let error as DuplicateKey {
            throw OptionsError(error.description)
        } catch let error as DecodingError {
            let root = (try? Yams.compose(yaml: text)) ?? nil
            throw OptionsError(root.map { ClusterConfig.describe(error, in: $0, source: path) } ?? "\(path): \(error)")
        } catch {
            throw OptionsError("\(path) is not valid YAML or JSON: \(error)")
        }
        try set.validate()
        return set
    }
}
