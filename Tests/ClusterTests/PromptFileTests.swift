import Foundation
import Options
import XCTest
@testable import Configuration
@testable import Protocol

/// `--prompts FILE`: a custom prompt ensemble, checked when read, carried with the job's
/// options (so it is part of the setup cache's key and of a resumed job's settings).
final class PromptFileTests: XCTestCase {
    func write(_ text: String, _ name: String = "prompts.yaml") throws -> String {
        let url = try temporaryOutputFolder(self).appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func testYAMLAndJSONFilesLoad() throws {
        let yaml = try write("normal_states: ['{}', 'clean {}']\nanomalous_states: ['{} with a crack']\ntemplates: ['a photo of the {}.']\n")
        let set = try PromptFile.load(path: yaml)
        XCTAssertEqual(set.prompts(className: "tile").normal, ["a photo of the tile.", "a photo of the clean tile."])
        XCTAssertEqual(set.prompts(className: "tile").anomalous, ["a photo of the tile with a crack."])
        let json = try write(#"{"normal_states": ["{}"], "anomalous_states": ["broken {}"], "templates": ["{}"]}"#, "p.json")
        XCTAssertEqual(try PromptFile.load(path: json).anomalousStates, ["broken {}"])
        // anomalib's ensemble: 7 x 21 normal and 4 x 21 anomalous prompts.
        XCTAssertEqual(PromptSet.anomalib.prompts(className: "x").normal.count, 147)
        XCTAssertEqual(PromptSet.anomalib.prompts(className: "x").anomalous.count, 84)
    }

    func testBadFilesSayWhatIsWrong() throws {
        let missing = try write("normal_states: ['{}']\ntemplates: ['{}']\n")
        XCTAssertThrowsError(try PromptFile.load(path: missing)) { XCTAssert("\($0)".contains("anomalous_states"), "\($0)") }
        let unknown = try write("normal_states: ['{}']\nanomalous_states: ['{}']\ntemplates: ['{}']\nextra: 1\n")
        XCTAssertThrowsError(try PromptFile.load(path: unknown)) { XCTAssert("\($0)".contains("unknown key 'extra'") && "\($0)".contains("line 4"), "\($0)") }
        let twice = try write("normal_states: ['{} {}']\nanomalous_states: ['{}']\ntemplates: ['{}']\n")
        XCTAssertThrowsError(try PromptFile.load(path: twice)) { XCTAssert("\($0)".contains("more than one {}"), "\($0)") }
        // A template without {} would give every prompt the same sentence, whatever the state.
        let noSlot = try write("normal_states: ['{}']\nanomalous_states: ['broken {}']\ntemplates: ['a photo of the {}.', 'a plain photo.']\n")
        XCTAssertThrowsError(try PromptFile.load(path: noSlot)) {
            XCTAssert("\($0)".contains("templates") && "\($0)".contains("'a plain photo.'"), "\($0)")
        }
        XCTAssertThrowsError(try JobOptions(className: "tile", prompts: PromptSet(normalStates: ["{}"], anomalousStates: ["{}"], templates: ["photo"]))
            .validate(referenceCount: 0), "the coordinator's check refuses it too")
        let empty = try write("normal_states: []\nanomalous_states: ['{}']\ntemplates: ['{}']\n")
        XCTAssertThrowsError(try PromptFile.load(path: empty)) { XCTAssert("\($0)".contains("normal_states is empty"), "\($0)") }
    }

    func testPromptsTravelWithTheJobAndKeyTheSetupCache() throws {
        let custom = PromptSet(normalStates: ["{}"], anomalousStates: ["broken {}"], templates: ["a photo of the {}."])
        let options = JobOptions(className: "tile", prompts: custom)
        let back = try WireMessage(frames: WireMessage(.submit, SubmitRequest(options: options, referenceCount: 0, imageCount: 1, wantMaps: false)).frames)
            .decode(SubmitRequest.self)
        XCTAssertEqual(back.options.prompts, custom)
        // Two jobs of one class: the second reuses the text embeddings only with the same prompts.
        var h = CoordinatorMachineTests.Harness()
        let w = PeerID("w".utf8), c = PeerID("c".utf8)
        h.addWorker(w)
        for (round, prompts) in [(1, nil), (2, nil), (3, custom)] as [(Int, PromptSet?)] {
            _ = h.submit(c, images: 0, options: JobOptions(className: "tile", prompts: prompts))
            let text = h.answerAll(w).filter { $0.kind == .text }
            XCTAssertEqual(text.count, round == 2 ? 0 : 1, "round \(round): text from cache only when the prompts are the same")
        }
    }
}
