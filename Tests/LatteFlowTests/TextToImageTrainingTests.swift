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

    func testConfigurationTakesTheBackbonesGeometryAndTheLatentsShape() throws {
        let geometry = BackboneGeometry(layerCount: 4, kvHeads: 2, headDim: 8, ropeTheta: 100)
        let c = try GeneratorConfiguration(backbone: "tiny", geometry: geometry, latentShape: [3, 6, 10],
                                           shape: GeneratorShape(groups: 2, width: 16, mlpWidth: 24))
        XCTAssertEqual([c.layerCount, c.kvHeads, c.headDim, c.queryHeads], [4, 2, 8, 2])
        XCTAssertEqual([c.latentChannels, c.latentHeight, c.latentWidth, c.patchSize], [3, 6, 10, 1])
        XCTAssertEqual(c.ropeTheta, 100)
        XCTAssertTrue(c.inputSkip && c.absolutePositions, "latte train's defaults")
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
