/// anomalib's compositional prompt ensemble (`anomalib/models/image/winclip/prompting.py`):
/// 7 normal and 4 anomalous states, each in 21 templates (one template appears twice, as in
/// anomalib, and is kept so that the means equal anomalib's).
public enum PromptEnsemble {
    public static let normalStates = [
        "{}", "flawless {}", "perfect {}", "unblemished {}", "{} without flaw", "{} without defect", "{} without damage",
    ]
    public static let anomalousStates = ["damaged {}", "{} with flaw", "{} with defect", "{} with damage"]
    public static let templates = [
        "a cropped photo of the {}.",
        "a close-up photo of a {}.",
        "a close-up photo of the {}.",
        "a bright photo of a {}.",
        "a bright photo of the {}.",
        "a dark photo of the {}.",
        "a dark photo of a {}.",
        "a jpeg corrupted photo of the {}.",
        "a jpeg corrupted photo of the {}.",
        "a blurry photo of the {}.",
        "a blurry photo of a {}.",
        "a photo of a {}.",
        "a photo of the {}.",
        "a photo of a small {}.",
        "a photo of the small {}.",
        "a photo of a large {}.",
        "a photo of the large {}.",
        "a photo of the {} for visual inspection.",
        "a photo of a {} for visual inspection.",
        "a photo of the {} for anomaly detection.",
        "a photo of a {} for anomaly detection.",
    ]

    /// (normal prompts, anomalous prompts) for a class name, in anomalib's order: states
    /// outer, templates inner.
    public static func prompts(className: String) -> (normal: [String], anomalous: [String]) {
        func fill(_ pattern: String, _ value: String) -> String {
            // Python's str.format replaces the single "{}" once; a class name containing
            // braces is inserted literally.
            guard let r = pattern.range(of: "{}") else { return pattern }
            return pattern.replacingCharacters(in: r, with: value)
        }
        let normal = normalStates.map { fill($0, className) }.flatMap { state in templates.map { fill($0, state) } }
        let anomalous = anomalousStates.map { fill($0, className) }.flatMap { state in templates.map { fill($0, state) } }
        return (normal, anomalous)
    }
}

import Foundation
