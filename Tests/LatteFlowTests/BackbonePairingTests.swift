import Foundation
import XCTest
import LatteFlow
import LatteModels
import LatteNN
import LatteTensor

/// Which backbone layers the generation layers read (`BackboneLayerSelection`, `backbone_layers`): the
/// text forms, the configuration they make, the errors, and that the velocity reads only paired layers.
final class BackbonePairingTests: XCTestCase {
    func testSelectionsParseAndResolveAgainstTheBackbonesDepth() throws {
        XCTAssertEqual(try BackboneLayerSelection(parsing: "all").resolve(layerCount: 4), [0, 1, 2, 3])
        XCTAssertEqual(try BackboneLayerSelection(parsing: "every:2").resolve(layerCount: 28), Array(stride(from: 0, to: 28, by: 2)))
        XCTAssertEqual(try BackboneLayerSelection(parsing: "every:3").resolve(layerCount: 7), [0, 3, 6])
        XCTAssertEqual(try BackboneLayerSelection(parsing: "0-27").resolve(layerCount: 28), Array(0..<28))
        XCTAssertEqual(try BackboneLayerSelection(parsing: "0-2, 5,7-8").resolve(layerCount: 9), [0, 1, 2, 5, 7, 8])
        for (text, reason) in [("every:0", "N ≥ 1"), ("every:x", "N ≥ 1"), ("3-1", "increasing range"), ("1-2-3", "neither"),
                               ("a", "neither"), ("", "neither"), ("0,,2", "neither"), ("-1", "neither")] {
            XCTAssertThrowsError(try BackboneLayerSelection(parsing: text), text) { XCTAssertTrue("\($0)".contains(reason), "\(text): \($0)") }
        }
        XCTAssertThrowsError(try BackboneLayerSelection(parsing: "0-28").resolve(layerCount: 28)) {
            XCTAssertTrue("\($0)".contains("layer 28 does not exist") && "\($0)".contains("28 layers (0-27)"), "\($0)")
        }
        XCTAssertEqual(try BackboneLayerSelection(parsing: "0-2, 5,7-8").description, "0-2,5,7-8")
        XCTAssertThrowsError(try BackboneLayerSelection(parsing: "0-999999999999").resolve(layerCount: 28)) {
            XCTAssertTrue("\($0)".contains("layer 999999999999 does not exist"), "\($0)")
        }
        XCTAssertThrowsError(try BackboneLayerSelection(parsing: "4,2").resolve(layerCount: 8)) { XCTAssertTrue("\($0)".contains("increasing"), "\($0)") }
        XCTAssertThrowsError(try BackboneLayerSelection(parsing: "1,1").resolve(layerCount: 8)) { XCTAssertTrue("\($0)".contains("once"), "\($0)") }
    }

    func testThePairingShapesTheConfigurationAndMismatchesAreNamed() throws {
        let geometry = BackboneGeometry(layerCount: 28, kvHeads: 2, headDim: 8, ropeTheta: 100)
        func make(_ shape: GeneratorShape) throws -> GeneratorConfiguration {
            try GeneratorConfiguration(backbone: "b", geometry: geometry, latentShape: [2, 4, 4], shape: shape)
        }
        let half = try make(GeneratorShape(groups: 2, width: 16, mlpWidth: 16, backboneLayers: .every(2)))
        XCTAssertEqual(half.layerCount, 14)
        XCTAssertEqual(half.backboneLayers, Array(stride(from: 0, to: 28, by: 2)))
        XCTAssertEqual(half.backboneLayer(pairedWith: 13), 26)
        XCTAssertEqual(half.promptLayersRead, 27)
        // K = 4 × 7 on all 28 layers (the paper's), stated in full: the default pairing is recorded as absent.
        let paper = try make(GeneratorShape(groups: 4, width: 16, mlpWidth: 16, layersPerGroup: 7, backboneLayers: .list(Array(0..<28))))
        XCTAssertEqual([paper.layerCount, paper.layersPerGroup], [28, 7])
        XCTAssertNil(paper.backboneLayers)
        XCTAssertEqual(paper, try make(GeneratorShape(groups: 4, width: 16, mlpWidth: 16)))
        // The top 14 layers: 2 × 7.
        let top = try make(GeneratorShape(groups: 2, width: 16, mlpWidth: 16, layersPerGroup: 7, backboneLayers: .list(Array(14..<28))))
        XCTAssertEqual(top.backboneLayer(pairedWith: 0), 14)

        XCTAssertThrowsError(try make(GeneratorShape(groups: 4, width: 16, mlpWidth: 16, layersPerGroup: 7, backboneLayers: .every(2)))) {
            XCTAssertTrue("\($0)".contains("4 groups × 7 layers per group = 28 generation layers") && "\($0)".contains("pair 14"), "\($0)")
        }
        XCTAssertThrowsError(try make(GeneratorShape(groups: 4, width: 16, mlpWidth: 16, backboneLayers: .every(3)))) {
            XCTAssertTrue("\($0)".contains("pair 10") && "\($0)".contains("4 groups of equal size"), "\($0)")
        }
        XCTAssertThrowsError(try make(GeneratorShape(groups: 1, width: 16, mlpWidth: 16, backboneLayers: .list([3, 30])))) {
            XCTAssertTrue("\($0)".contains("layer 30 does not exist"), "\($0)")
        }
        // A configuration file with a pairing that does not match its layer count.
        var bad = half
        bad.layerCount = 12
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("pairs 14 backbone layers with 12 generation layers"), "\($0)") }
    }

    func testThePairingRoundTripsThroughGeneratorJSONAndOlderFilesReadAsAllLayers() throws {
        var c = tinyConfiguration(groups: 2, layers: 2)
        c.backboneLayers = [1, 3]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pairing-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try c.save(to: url)
        XCTAssertEqual(try GeneratorConfiguration.load(from: url), c)
        try tinyConfiguration().save(to: url)
        XCTAssertFalse(try String(contentsOf: url, encoding: .utf8).contains("backbone_layers"))
        XCTAssertNil(try GeneratorConfiguration.load(from: url).backboneLayers)
    }

    /// Perturbing the keys and values of a backbone layer no generation layer pairs with leaves the
    /// velocity bit for bit unchanged; perturbing a paired one changes it.
    func testTheVelocityReadsOnlyThePairedLayersKeysAndValues() throws {
        var c = tinyConfiguration(groups: 2, layers: 2)
        c.backboneLayers = [1, 3]
        let model = try LayerwiseTimestepExperts(c, seed: 1)
        randomizeParameters(model, seed: 2)
        var wide = c
        wide.layerCount = 4
        wide.backboneLayers = nil
        let prompt = randomPrompt(wide, length: 3, seed: 4)
        var g = RandomGenerator(seed: 5)
        let x = Tensor.normal([1, 2, 4, 4], generator: &g)
        func velocity(_ p: PromptCache) -> [Float] {
            (0..<2).flatMap { k in model.velocity(x, t: [k == 0 ? 0.25 : 0.75], prompt: p, group: k).toArray() }
        }
        func perturbed(_ layer: Int) -> PromptCache {
            var keys = prompt.keys, values = prompt.values
            keys[layer] = keys[layer] * 2 + 1
            values[layer] = values[layer] * -1
            return PromptCache(keys: keys, values: values, lengths: prompt.lengths)
        }
        let base = velocity(prompt)
        XCTAssertEqual(velocity(perturbed(0)), base)
        XCTAssertEqual(velocity(perturbed(2)), base)
        XCTAssertNotEqual(velocity(perturbed(1)), base)
        XCTAssertNotEqual(velocity(perturbed(3)), base)
    }

    func testTheBackboneCheckAndCopyInitialisationFollowThePairing() throws {
        let lm = LLaMAModel(configuration: LLaMAConfiguration(hiddenSize: 16, intermediateSize: 24, layerCount: 4, headCount: 4,
                                                              kvHeadCount: 2, headDim: 4, vocabularySize: 32))
        var g = RandomGenerator(seed: 1)
        for (_, p) in lm.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.1, generator: &g)) }
        let shape = GeneratorShape(groups: 2, width: 16, mlpWidth: 24, queryHeads: 4, backboneLayers: .list([1, 3]))
        let c = try GeneratorConfiguration(backbone: "tiny", geometry: BackboneGeometry(lm), latentShape: [2, 4, 4], shape: shape)
        let encoder = PromptEncoder(backbone: lm)
        try encoder.check(c)
        let model = try LayerwiseTimestepExperts(c, seed: 2)
        XCTAssertEqual(try model.initialiseFromBackbone(lm.parameterTensors()), 9 * 2)
        let own = model.parameterTensors(), source = lm.parameterTensors()
        XCTAssertEqual(own["layers.0.q_proj.weight"]!.toArray(), source["model.layers.1.self_attn.q_proj.weight"]!.toArray())
        XCTAssertEqual(own["layers.1.mlp.down_proj.weight"]!.toArray(), source["model.layers.3.mlp.down_proj.weight"]!.toArray())

        var beyond = c
        beyond.backboneLayers = [1, 4]
        XCTAssertThrowsError(try encoder.check(beyond)) {
            XCTAssertTrue("\($0)".contains("generator layer 1 pairs with backbone layer 4") && "\($0)".contains("4 layers (0-3)"), "\($0)")
        }
        var unpaired = c
        unpaired.backboneLayers = nil
        XCTAssertThrowsError(try encoder.check(unpaired), "2 layers, none named, on a 4-layer backbone") {
            XCTAssertTrue("\($0)".contains("generator expects 2 layers"), "\($0)")
        }
    }
}
