import Foundation
import XCTest
import LatteFlow
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor

/// The library pieces of `latte train` that need no real weights: classes and phrases of a data set,
/// the generator configuration from a backbone's geometry and the latents, and the model-folder export.
final class TextToImageTrainingTests: XCTestCase {
    struct Folder: Dataset {
        let classNames = ["ankle_boot", "bag"]
        var count: Int { 2 }
        func item(at index: Int) throws -> DatasetItem { throw DatasetError(.missing, file: "<test>", "no images") }
    }

    func testClassesAreFashionMNISTsPhrasesOrAFoldersNames() {
        let fashion = TrainingClasses(data: "fashion-mnist", dataset: Folder())
        XCTAssertEqual(fashion.names, IDXDataset.fashionMNISTClasses)
        XCTAssertEqual(fashion.phrases, ClassPrompts.fashionMNIST)
        let folder = TrainingClasses(data: "/some/folder", dataset: Folder())
        XCTAssertEqual(folder.names, ["ankle_boot", "bag"])
        XCTAssertEqual(folder.phrases, [["ankle boot"], ["bag"]])
    }

    /// An image folder with a class-name map and templates trains on the map's names × the templates.
    func testAFolderWithAClassNameMapAndTemplatesGivesTheirPhrases() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("latte-classes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        for folder in ["n01", "n02"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
            try PNG.write(Image(width: 2, height: 2, channels: 1, fill: [128]), to: root.appendingPathComponent("\(folder)/a.png").path)
        }
        let mapFile = root.appendingPathComponent("map.txt")
        try Data("n01\tgoldfish, carp\nn02\tgreat white shark\n".utf8).write(to: mapFile)
        let dataset = try ImageDataSource.dataset(root.path, split: .train, classNames: try ClassNameMap(path: mapFile.path),
                                                  templates: try PromptTemplates(["a photo of a {name}"]))
        let classes = TrainingClasses(data: root.path, dataset: dataset)
        XCTAssertEqual(classes.names, ["goldfish", "great white shark"])
        XCTAssertEqual(classes.phrases, [["a photo of a goldfish", "a photo of a carp"], ["a photo of a great white shark"]])
        var o = TextToImageTrainingOptions()
        o.promptTemplates = ["a {name}"]
        XCTAssertThrowsError(try o.validate(), "fashion-mnist has its own phrases") { XCTAssertTrue("\($0)".contains("--prompt-template"), "\($0)") }
    }

    func testConfigurationTakesTheBackbonesGeometryAndTheLatentsShape() throws {
        let geometry = BackboneGeometry(layerCount: 4, kvHeads: 2, headDim: 8, ropeTheta: 100)
        let c = try GeneratorConfiguration(backbone: "tiny", geometry: geometry, latentShape: [3, 6, 10],
                                           shape: GeneratorShape(groups: 2, width: 16, mlpWidth: 24))
        XCTAssertEqual([c.layerCount, c.kvHeads, c.headDim, c.queryHeads], [4, 2, 8, 2])
        XCTAssertEqual([c.latentChannels, c.latentHeight, c.latentWidth, c.patchSize], [3, 6, 10, 1])
        XCTAssertEqual(c.ropeTheta, 100)
        XCTAssertTrue(c.inputSkip && c.absolutePositions, "latte train's defaults")
        // The committed model's recipe (scripts/train_default_model.sh) draws t uniformly.
        XCTAssertEqual(TextToImageTrainingOptions().timesteps, .uniform, "latte train's default")
        XCTAssertThrowsError(try GeneratorConfiguration(backbone: "tiny", geometry: geometry, latentShape: [3, 6],
                                                        shape: GeneratorShape(groups: 2, width: 16, mlpWidth: 24))) {
            XCTAssertTrue("\($0)".contains("[channels, height, width]"), "\($0)")
        }
    }

    func testExportWritesALoadableFolderAndReplacesThePreviousOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var v = AutoencoderKLConfiguration()
        v.inChannels = 1; v.outChannels = 1; v.blockOutChannels = [8, 8]; v.normNumGroups = 4; v.latentChannels = 2
        let autoencoder = try AutoencoderKL(v, seed: 4)
        let model = try LayerwiseTimestepExperts(tinyConfiguration(), seed: 3)
        let manifest = TrainedModelDefaults.manifest(backbone: "test", crop: 2, classNames: ["a"], classPhrases: [["an a"]])
        XCTAssertEqual(manifest.defaultSolver, .heun)
        XCTAssertEqual(manifest.defaultSteps, 15)
        XCTAssertEqual(manifest.defaultGuidance, 2)
        let output = dir.appendingPathComponent("model")
        for step in [1, 2] {
            try TextToImagePipeline.writeFolder(manifest: manifest, generator: model, autoencoder: autoencoder, guide: nil,
                                                metadata: ["step": "\(step)"], to: output)
        }
        XCTAssertEqual(try TextToImageManifest.load(from: output.appendingPathComponent("model.json")), manifest)
        let loaded = try TextToImagePipeline.loadGenerator(directory: output)
        XCTAssertEqual(loaded.configuration, model.configuration)
        let key = "layers.0.q_proj.weight"
        XCTAssertEqual(loaded.parameterTensors()[key]!.toArray(), model.parameterTensors()[key]!.toArray().map { Float(Float16($0)) })
        XCTAssertEqual(try AutoencoderKL.load(directory: output.appendingPathComponent("autoencoder")).configuration.latentChannels, 2)
        XCTAssertEqual(try Safetensors.read(contentsOf: output.appendingPathComponent("generator.safetensors")).metadata["step"], "2")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["model"], "no staging folder left")
    }
}

/// `latte train --initialize-from-backbone`: a LLaMA backbone's own parameters (Hugging Face names) copy
/// into a generator built by `GeneratorShape` with the backbone's width, MLP width and query heads.
final class BackboneCopyInitialisationTests: XCTestCase {
    func testALLaMABackboneCopiesIntoAGeneratorOfItsShape() throws {
        let lm = LLaMAModel(configuration: LLaMAConfiguration(hiddenSize: 16, intermediateSize: 24, layerCount: 4, headCount: 4,
                                                              kvHeadCount: 2, headDim: 4, vocabularySize: 32))
        var g = RandomGenerator(seed: 1)
        for (_, p) in lm.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.1, generator: &g)) }
        let shape = GeneratorShape(groups: 2, width: 16, mlpWidth: 24, queryHeads: 4)
        let c = try GeneratorConfiguration(backbone: "tiny", geometry: BackboneGeometry(lm), latentShape: [2, 4, 4], shape: shape)
        XCTAssertEqual(c.queryHeads, 4)
        let model = try LayerwiseTimestepExperts(c, seed: 2)
        XCTAssertEqual(try model.initialiseFromBackbone(lm.parameterTensors()), 9 * 4)
        let own = model.parameterTensors(), source = lm.parameterTensors()
        for key in ["q_proj.weight", "o_proj.weight", "mlp.down_proj.weight", "input_layernorm.weight"] {
            let backboneKey = key.hasSuffix("proj.weight") && !key.hasPrefix("mlp") ? "self_attn.\(key)" : key
            XCTAssertEqual(own["layers.3.\(key)"]!.toArray(), source["model.layers.3.\(backboneKey)"]!.toArray(), key)
        }
        // The default shape (query heads = the backbone's K/V heads) cannot take the backbone's query projection.
        let narrow = try LayerwiseTimestepExperts(try GeneratorConfiguration(
            backbone: "tiny", geometry: BackboneGeometry(lm), latentShape: [2, 4, 4], shape: GeneratorShape(groups: 2, width: 16, mlpWidth: 24)))
        XCTAssertThrowsError(try narrow.initialiseFromBackbone(lm.parameterTensors())) { XCTAssertTrue("\($0)".contains("q_proj"), "\($0)") }
    }
}
