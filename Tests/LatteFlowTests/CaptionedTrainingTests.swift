import Foundation
import XCTest
import LatteFlow
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor

/// `latte train` on captions, end to end through `TextToImageTraining.run`: a JSONL of tiny generated
/// RGB(A) PNGs of several sizes, a tiny RGB autoencoder and a tiny character-level LLaMA backbone folder.
final class CaptionedTrainingTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("latte-captioned-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("images"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Writes PNGs and a caption file; `lines` are JSONL lines, `images` name → (width, height, RGBA fill).
    func captionFile(_ lines: [String], images: [String: (Int, Int, [UInt8])]) throws -> URL {
        for (name, (w, h, fill)) in images {
            // A horizontal ramp over the fill colour, so images are not flat.
            var pixels: [UInt8] = []
            for _ in 0..<h { for x in 0..<w { pixels += fill.enumerated().map { $0 == 3 ? $1 : UInt8((Int($1) + 20 * x) % 256) } } }
            try PNG.write(Image(width: w, height: h, channels: 4, pixels: pixels), to: directory.appendingPathComponent("images/\(name)").path)
        }
        let url = directory.appendingPathComponent("captions.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
        return url
    }

    /// A tiny RGB AutoencoderKL (×2 downsampling, 2 latent channels) saved as a folder.
    func autoencoder() throws -> URL {
        var v = AutoencoderKLConfiguration()
        v.inChannels = 3; v.outChannels = 3; v.blockOutChannels = [8, 8]; v.normNumGroups = 4; v.latentChannels = 2
        let url = directory.appendingPathComponent("vae")
        try AutoencoderKL(v, seed: 4).save(directory: url)
        return url
    }

    /// Options for a run on `data` in its own run and output folders (`name`).
    func options(data: URL, name: String = "run") throws -> TextToImageTrainingOptions {
        var o = TextToImageTrainingOptions()
        o.data = data.path
        o.autoencoder = try autoencoder()
        o.backbone = try TinyTextBackbone.folder(in: directory).path
        o.output = directory.appendingPathComponent("\(name)-model")
        o.runDirectory = directory.appendingPathComponent(name)
        o.shape = GeneratorShape(groups: 2, width: 16, mlpWidth: 24)
        o.image = ImagePreparation(resolution: 8)
        o.steps = 4
        o.batch = 3
        o.warmup = 1
        o.checkpointEvery = 0
        return o
    }

    let lines = [
        #"{"image": "images/red.png", "caption": "a red square"}"#,
        #"{"image": "images/green.png", "caption": ["a green square", "green, bright"]}"#,
        #"{"image": "images/blue.png", "caption": "a blue square"}"#,
        #"{"image": "images/clear.png", "caption": ["a see-through square", "a red square"]}"#,
    ]
    let images: [String: (Int, Int, [UInt8])] = [
        "red.png": (8, 8, [220, 30, 30, 255]), "green.png": (12, 10, [30, 200, 40, 255]),
        "blue.png": (10, 12, [20, 40, 230, 255]), "clear.png": (8, 8, [200, 20, 20, 90]),
    ]

    func testACaptionFileTrainsAndTheExportGeneratesFromAFreePrompt() throws {
        var said: [String] = []
        let result = try TextToImageTraining.run(try options(data: try captionFile(lines, images: images))) { said.append($0) }
        XCTAssertTrue(said.contains("training on captions: 4 images, 6 captions (5 distinct)"), said.joined(separator: "\n"))
        XCTAssertTrue(said.contains { $0.hasPrefix("prompt caches: 5 distinct prompts") && $0.contains("in memory (f32)") }, said.joined(separator: "\n"))
        let losses = TrainingLog.series(in: result.log, x: "step", y: "loss")
        XCTAssertEqual(losses.map(\.0), [1, 2, 3, 4])
        XCTAssertTrue(losses.allSatisfy { $0.1.isFinite && $0.1 > 0 }, "\(losses)")

        let manifest = try TextToImageManifest.load(directory: result.output)
        XCTAssertNil(manifest.classNames, "a captioned model has no classes")
        XCTAssertEqual(manifest.samplePrompts, ["a red square", "a green square", "a blue square", "a see-through square"])
        XCTAssertEqual(manifest.sheetPrompts, manifest.samplePrompts)
        XCTAssertEqual(manifest.crop, 0, "resized images have no border to crop")

        let pipeline = try TextToImagePipeline.load(directory: result.output)
        let image = try pipeline.generate(prompts: ["a purple square, never seen"], settings: pipeline.settings(steps: 3, seed: 1))
        XCTAssertEqual(image.shape, [1, 3, 8, 8])
        XCTAssertTrue(image.toArray().allSatisfy(\.isFinite))
    }

    func testGivenSamplePromptsAreRecorded() throws {
        var o = try options(data: try captionFile(lines, images: images))
        o.samplePrompts = ["a red square", "a tiny blue square"]
        o.steps = 1
        let result = try TextToImageTraining.run(o) { _ in }
        XCTAssertEqual(try TextToImageManifest.load(directory: result.output).samplePrompts, ["a red square", "a tiny blue square"])
    }

    /// A missing image is reported with its path and left out (its captions with it); a caption file
    /// without entries, or whose images are all unreadable, is an error naming the problem.
    func testAMissingImageIsNamedAndSkippedAndAnEmptySetIsRefused() throws {
        let missing = try captionFile(lines + [#"{"image": "images/absent.png", "caption": "nothing"}"#], images: images)
        var o = try options(data: missing)
        o.steps = 1
        var said: [String] = []
        _ = try TextToImageTraining.run(o) { said.append($0) }
        XCTAssertTrue(said.contains { $0.contains("images/absent.png") && $0.contains("skipped") }, said.joined(separator: "\n"))
        XCTAssertTrue(said.contains("training on captions: 4 images, 6 captions (5 distinct)"),
                      "the rows follow the images that were read: \(said.joined(separator: "\n"))")

        let empty = try captionFile(["", "  "], images: [:])
        XCTAssertThrowsError(try TextToImageTraining.run(try options(data: empty, name: "empty")) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("captions.jsonl") && "\(error)".contains("no entries"), "\(error)")
        }
        let unreadable = try captionFile([#"{"image": "images/none.png", "caption": "nothing"}"#], images: [:])
        XCTAssertThrowsError(try TextToImageTraining.run(try options(data: unreadable, name: "unreadable")) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("every image was unreadable"), "\(error)")
        }
    }

    /// Which runs train on captions: decided from the items' annotations, read without decoding an image.
    func testCaptionsOrClassPhrasesFollowTheItemsAnnotations() throws {
        // The images are never written: annotations must not need them.
        let captioned = try ImageDataSource.dataset(try captionFile(lines, images: [:]).path, split: .train)
        let prompts = try TrainingPrompts(dataset: captioned, items: [0, 1, 2, 3], classes: TrainingClasses(data: "x", dataset: captioned))
        XCTAssertTrue(prompts.isCaptioned)
        XCTAssertEqual(prompts.rows[1], ["a green square", "green, bright"])
        XCTAssertEqual(prompts.samplePrompts(count: 2), ["a red square", "a blue square"], "spread over the set")

        // An image folder, with or without templates, trains on its class phrases.
        let root = directory.appendingPathComponent("folder")
        for name in ["ankle_boot", "bag"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: true)
            try PNG.write(Image(width: 2, height: 2, channels: 1, fill: [9]), to: root.appendingPathComponent("\(name)/1.png").path)
        }
        for templates in [nil, try PromptTemplates(["a photo of a {name}", "a {name}"])] {
            let folder = try ImageDataSource.dataset(root.path, split: .train, templates: templates)
            let classes = TrainingClasses(data: root.path, dataset: folder)
            let p = try TrainingPrompts(dataset: folder, items: [0, 1], classes: classes)
            XCTAssertFalse(p.isCaptioned)
            XCTAssertEqual(p.labels, [0, 1])
            XCTAssertEqual(p.rows, classes.phrases)
            XCTAssertEqual(p.texts, classes.phrases.flatMap { $0 })
        }
        // … unless its captions.jsonl gives images captions of their own.
        try Data(#"{"file": "bag/1.png", "caption": "a leather bag"}"#.utf8).write(to: root.appendingPathComponent("captions.jsonl"))
        let described = try ImageDataSource.dataset(root.path, split: .train)
        let p = try TrainingPrompts(dataset: described, items: [0, 1], classes: TrainingClasses(data: root.path, dataset: described))
        XCTAssertTrue(p.isCaptioned)
        XCTAssertEqual(p.rows, [["ankle boot"], ["a leather bag"]], "an image without a caption keeps its class phrase")
        XCTAssertThrowsError(try TrainingPrompts(dataset: described, items: [], classes: TrainingClasses(data: root.path, dataset: described))) {
            XCTAssertTrue("\($0)".contains("empty"), "\($0)")
        }
    }
}
