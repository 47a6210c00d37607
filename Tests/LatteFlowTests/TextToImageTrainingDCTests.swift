import Foundation
import XCTest
import LatteTestSupport
import LatteFlow
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor

/// `latte train` end to end with a DC-AE as the autoencoder: an RGB image folder is encoded by an
/// AutoencoderDC, a generator trains on its latents, and the exported model folder (with the DC-AE in
/// it) generates RGB images of the training size. Needs the SmolLM2 asset.
final class TextToImageTrainingDCTests: XCTestCase {
    func testTrainingOnAnImageFolderWithADCAutoencoderExportsAModelThatGenerates() throws {
        _ = try PinnedAssets.require("smollm2")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("latte-train-dc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        // Two classes of four 16×16 RGB images (flat colours with a gradient).
        for (c, name) in ["red square", "blue square"].enumerated() {
            let folder = root.appendingPathComponent("data/\(name)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for i in 0..<4 {
                var pixels: [UInt8] = []
                for y in 0..<16 { for x in 0..<16 {
                    let v = UInt8(min(255, 40 + 10 * x + 5 * y + 3 * i))
                    pixels += c == 0 ? [v, 20, 20] : [20, 20, v]
                } }
                try PNG.write(Image(width: 16, height: 16, channels: 3, pixels: pixels), to: folder.appendingPathComponent("\(i).png").path)
            }
        }
        let autoencoderFolder = root.appendingPathComponent("dc-ae")
        try tinyAutoencoderDC().save(directory: autoencoderFolder)

        var o = TextToImageTrainingOptions()
        o.data = root.appendingPathComponent("data").path
        o.autoencoder = autoencoderFolder
        o.output = root.appendingPathComponent("model")
        o.runDirectory = root.appendingPathComponent("run")
        o.pad = 0
        o.steps = 3
        o.batch = 4
        o.warmup = 1
        o.checkpointEvery = 0
        o.shape = GeneratorShape(groups: 5, width: 32, mlpWidth: 48)
        _ = try TextToImageTraining.run(o) { _ in }

        let pipeline = try TextToImagePipeline.load(directory: o.output)
        XCTAssertTrue(pipeline.autoencoder is AutoencoderDC, "the exported folder keeps the DC-AE")
        XCTAssertEqual([pipeline.generator.configuration.latentChannels, pipeline.generator.configuration.latentHeight], [4, 4],
                       "16×16 images over the DC-AE's ×4 give 4×4×4 latents")
        let images = try pipeline.generate(prompts: ["red square"], settings: pipeline.settings(steps: 2, guidance: 1, seed: 1))
        XCTAssertEqual(images.shape, [1, 3, 16, 16])
    }
}
