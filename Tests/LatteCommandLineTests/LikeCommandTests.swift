import Foundation
import LatteFlow
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor
import LatteTestSupport
import XCTest

/// `latte train-like`, `latte generate --like` and `latte eval like` end to end on the default model's
/// generator with tiny random vision weights (input 64, 2×2 tokens) over the pinned encoder and SmolLM2:
/// a few fine-tuning steps that resume, a folder that draws from text and from images, the evaluation's
/// JSON (its rates recounted from its examples), and each refusal naming its cause.
final class LikeCommandTests: XCTestCase {
    var root: URL!
    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("like-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try LatteExecutable.run(arguments)
    }

    /// root/latteflow-fashion: the default model's files (its autoencoder through root/fashion-vae) and
    /// random vision weights; never trained for image prompts (the committed adapter left out).
    func defaultFolderWithVision() throws -> URL {
        let dir = root.appendingPathComponent("latteflow-fashion")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let repository = VisionUnderstandingCommandTests.repository
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("fashion-vae"),
                                                   withDestinationURL: repository.appendingPathComponent("models/fashion-vae"))
        let model = repository.appendingPathComponent("models/latteflow-fashion")
        for name in try FileManager.default.contentsOfDirectory(atPath: model.path) where name.hasSuffix(".json") || name.hasSuffix(".safetensors") {
            guard name != TextToImagePipeline.imagePromptAdapterFile else { continue }
            try FileManager.default.copyItem(at: model.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        // The committed folder draws image prompts through its adapter; this copy starts untrained for them.
        var manifest = try TextToImageManifest.load(directory: dir)
        manifest.imagePrompts = nil
        try manifest.save(to: dir.appendingPathComponent("model.json"))
        try writeVision(to: dir, seed: 3)
        return dir
    }

    func writeVision(to dir: URL, seed: UInt64) throws {
        var g = RandomGenerator(seed: seed)
        let projector = ImageTokenProjector(encoderChannels: 1280, width: 576, generator: &g)
        try VisionModelConfiguration(inputSize: 64, grid: 2, encoderChannels: 1280, width: 576).save(projector: projector, to: dir, dtype: .float16)
    }

    /// A 28×28 grey PNG of random pixels.
    func png(_ name: String, seed: UInt64) throws -> String {
        var rng = SplitMix64(seed: seed)
        let path = root.appendingPathComponent(name).path
        try PNG.write(Image(width: 28, height: 28, channels: 1, pixels: (0..<784).map { _ in UInt8(rng.next(below: 256)) }), to: path)
        return path
    }

    func testTrainLikeThenGenerateLikeThenEvalLike() throws {
        try LatteExecutable.require()
        for name in ["smollm2", "efficientnet-lite0", "fashion-mnist"] { _ = try PinnedAssets.require(name) }
        let model = try defaultFolderWithVision()
        let (out, runDir) = (root.appendingPathComponent("like-model"), root.appendingPathComponent("like-run"))
        let train = ["train-like", "--model", model.path, "--output", out.path, "--run-dir", runDir.path, "--limit", "200",
                     "--prompt-images-per-class", "2", "--steps", "4", "--batch", "4", "--warmup", "1", "--checkpoint-every", "2", "--threads", "1"]
        let first = try run(train + ["--stop-after", "2"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("prompt images: 20 (2/2/2/2/2/2/2/2/2/2 per class)"), first.stderr)
        let second = try run(train)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("at step 2"), second.stderr)
        let log = try TrainingLog.records(in: runDir.appendingPathComponent("log.jsonl"))
        XCTAssertEqual(log.map(\.step), [1, 2, 3, 4])
        XCTAssertTrue(log.allSatisfy { $0.loss.isFinite })
        XCTAssertEqual(log.map { $0.metrics["image_loss"] != nil }, [true, false, true, false], "every other step keeps the class phrases")
        // The folder carries the vision weights it was trained with and says so in model.json.
        let manifest = try TextToImageManifest.load(directory: out)
        let record = try XCTUnwrap(manifest.imagePrompts)
        XCTAssertEqual(record.instruction, ImagePromptEncoder.defaultInstruction)
        XCTAssertEqual(record.steps, 4)
        XCTAssertEqual(record.visionSHA256, try SHA256.hash(fileAt: model.appendingPathComponent("vision.safetensors").path))
        XCTAssertNoThrow(try record.checkVisionWeights(in: out))
        XCTAssertEqual(manifest.classPhrases, try TextToImageManifest.load(directory: model).classPhrases)

        // Text prompts still work; image prompts draw one row per image.
        let text = try run(["generate", "--model", out.path, "--prompt", "a sandal", "--count", "1", "--steps", "2", "--output", root.appendingPathComponent("t.png").path, "--threads", "1"])
        XCTAssertEqual(text.status, 0, text.stderr)
        let (a, b) = (try png("a.png", seed: 1), try png("b.png", seed: 2))
        let likeOut = root.appendingPathComponent("like.png").path
        let like = try run(["generate", "--model", out.path, "--like", a, "--like", b, "--count", "2", "--steps", "2", "--output", likeOut, "--threads", "1"])
        XCTAssertEqual(like.status, 0, like.stderr)
        XCTAssertTrue(like.stdout.contains("2 image prompt(s) × 2 images"), like.stdout)
        let grid = try ImageFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: likeOut))), file: likeOut)
        XCTAssertGreaterThan(grid.height, grid.width / 2, "two rows of two")

        // The evaluation: its rates are recounts of its examples.
        let eval = try run(["eval", "like", "--model", out.path, "--images", "3", "--steps", "2", "--json", "--threads", "1"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any], eval.stdout)
        let examples = try XCTUnwrap(json["examples"] as? [[String: Any]])
        XCTAssertEqual(examples.count, 3)
        XCTAssertEqual(json["prompt_images"] as? Int, 3)
        for (key, verdict) in [("like", "like_kept_class"), ("text", "text_right")] {
            let judged = try XCTUnwrap(json[key] as? [String: Any], key)
            XCTAssertEqual(judged["count"] as? Int, 3)
            let recount = Double(examples.filter { $0[verdict] as? Bool == true }.count) / 3
            XCTAssertEqual(try XCTUnwrap(judged["accuracy"] as? Double), recount, accuracy: 1e-12, key)
            XCTAssertTrue(Set((judged["per_class"] as? [String: Double] ?? [:]).keys).isSubset(of: IDXDataset.fashionMNISTClasses), key)
        }
        for e in examples {
            XCTAssertEqual(e["like_kept_class"] as? Bool, e["like_predicted"] as? String == e["label"] as? String)
            XCTAssertEqual(e["text_right"] as? Bool, e["text_predicted"] as? String == e["label"] as? String)
        }
        XCTAssertEqual((json["examples"] as? [[String: Any]])?.map { $0["test_index"] as? Int }, [0, 1, 2])
        // Image prompts sample with image_prompts' guidance and without the text-trained guide.
        let likeSettings = try XCTUnwrap(json["like_settings"] as? [String: Any])
        XCTAssertEqual(likeSettings["guidance"] as? Double, Double(record.defaultGuidance))
        XCTAssertEqual(likeSettings["guide_weight"] as? Double, 1)
        XCTAssertEqual((json["text_settings"] as? [String: Any])?["guide_weight"] as? Double, Double(manifest.defaultGuideWeight ?? 1))
        let promptAccuracy = try XCTUnwrap(json["prompt_image_classifier_accuracy"] as? Double)
        XCTAssertTrue((0...1).contains(promptAccuracy))

        // Refusals, each naming its cause: not an image; another projector than the one trained with;
        // no vision weights; a generator never trained for image prompts.
        let notImage = root.appendingPathComponent("notes.txt")
        try Data("hello".utf8).write(to: notImage)
        let bad = try run(["generate", "--model", out.path, "--like", notImage.path, "--output", likeOut])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--like \(notImage.path): not an image"), bad.stderr)
        try writeVision(to: out, seed: 4)
        let other = try run(["generate", "--model", out.path, "--like", a, "--output", likeOut])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("is not the projector this generator was trained with"), other.stderr)
        try FileManager.default.removeItem(at: out.appendingPathComponent(VisionModelConfiguration.fileName))
        let blind = try run(["generate", "--model", out.path, "--like", a, "--output", likeOut])
        XCTAssertNotEqual(blind.status, 0)
        XCTAssertTrue(blind.stderr.contains("--like: \(out.path) has no vision weights"), blind.stderr)
        let untrained = try run(["generate", "--model", model.path, "--like", a, "--output", likeOut])
        XCTAssertNotEqual(untrained.status, 0)
        XCTAssertTrue(untrained.stderr.contains("was not trained for image prompts") && untrained.stderr.contains("latte train-like --model \(model.path)"), untrained.stderr)
        let both = try run(["generate", "--model", out.path, "--like", a, "--prompt", "a bag"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("give one of --prompt TEXT, --sheet or --like IMAGE"), both.stderr)

        // The fine-tune folded into the base folder as an adapter: image prompts through it, text prompts
        // exactly as before (the same bytes), and a base whose weights changed since is refused.
        let textArguments = ["generate", "--model", model.path, "--prompt", "a sandal", "--count", "1", "--steps", "2", "--threads", "1", "--output"]
        let before = root.appendingPathComponent("before.png"), after = root.appendingPathComponent("after.png")
        XCTAssertEqual(try run(textArguments + [before.path]).status, 0)
        let adapter = try run(["like-adapter", "--base", model.path, "--tuned", out.path, "--rank", "2", "--guidance", "2.5"])
        XCTAssertEqual(adapter.status, 0, adapter.stderr)
        XCTAssertTrue(adapter.stdout.contains("like-adapter.safetensors (rank 2, f16"), adapter.stdout)
        let adapted = try XCTUnwrap(try TextToImageManifest.load(directory: model).imagePrompts)
        XCTAssertEqual(adapted.adapter, TextToImagePipeline.imagePromptAdapterFile)
        XCTAssertEqual(adapted.adapterBaseSHA256, try SHA256.hash(fileAt: model.appendingPathComponent("generator.safetensors").path))
        XCTAssertEqual(adapted.defaultGuidance, 2.5)
        XCTAssertEqual(adapted.visionSHA256, record.visionSHA256)
        let adaptedLike = try run(["generate", "--model", model.path, "--like", a, "--count", "1", "--steps", "2", "--output", likeOut, "--threads", "1"])
        XCTAssertEqual(adaptedLike.status, 0, adaptedLike.stderr)
        XCTAssertEqual(try run(textArguments + [after.path]).status, 0)
        XCTAssertEqual(try Data(contentsOf: before), try Data(contentsOf: after), "text prompts never see the adapter")
        try FileManager.default.removeItem(at: model.appendingPathComponent("generator.safetensors"))
        try FileManager.default.copyItem(at: model.appendingPathComponent("guide.safetensors"), to: model.appendingPathComponent("generator.safetensors"))
        let moved = try run(["generate", "--model", model.path, "--like", a, "--output", likeOut])
        XCTAssertNotEqual(moved.status, 0)
        XCTAssertTrue(moved.stderr.contains("was taken from other generator weights"), moved.stderr)
        let notTuned = try run(["like-adapter", "--base", model.path, "--tuned", model.path])
        XCTAssertNotEqual(notTuned.status, 0)
        XCTAssertTrue(notTuned.stderr.contains("it holds an adapter itself"), notTuned.stderr)
    }
}
