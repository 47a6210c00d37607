import Foundation
import XCTest
import LatteFormats
import LatteTensor
@testable import LatteEval

/// The captioned evaluation with a fake generator, labeller and feature network, where every number is
/// known: adherence and the classifier's real accuracy, the gap, the seeds and counts, and memorisation
/// of a generator that copies its training set.
final class CaptionedEvaluationTests: XCTestCase {
    /// A 4×4 RGB image of one colour (red or green), with a little per-pixel noise.
    func solid(_ red: Bool, into t: Tensor, at i: Int, generator g: inout RandomGenerator) {
        for c in 0..<3 {
            for p in 0..<16 {
                let base: Float = (c == 0) == red ? 0.8 : 0.2
                t.f32[(i * 3 + c) * 16 + p] = base + 0.1 * g.nextFloat()
            }
        }
    }

    /// Red images are category "a", green "b"; the classifier says "a" when the red mean beats the green.
    func classify(_ images: Tensor) -> [Int] {
        (0..<images.shape[0]).map { i in
            var r: Float = 0, g: Float = 0
            for p in 0..<16 { r += images.f32[(i * 3) * 16 + p]; g += images.f32[(i * 3 + 1) * 16 + p] }
            return r > g ? 0 : 1
        }
    }

    func flattened(_ images: Tensor) -> Tensor { images.contiguous().reshaped([images.shape[0], 48]) }

    func sets() -> (training: LabelledImageSet, heldOut: LabelledImageSet) {
        var g = RandomGenerator(seed: 5)
        let training = Tensor.empty([40, 3, 4, 4])
        for i in 0..<40 { solid(i % 2 == 0, into: training, at: i, generator: &g) }
        let trainingSet = LabelledImageSet(images: training, categories: (0..<40).map { $0 % 2 == 0 ? "a" : "b" },
                                           captions: (0..<40).map { "train \($0)" }, indices: Array(0..<40))
        // Ten held-out items: categories a, b, a, b, …; item 9 has no category; item 3 ("b") is drawn red, so
        // the classifier gets 8 of the 9 labelled real images right.
        let heldOut = Tensor.empty([10, 3, 4, 4])
        let categories: [String?] = (0..<10).map { $0 == 9 ? nil : ($0 % 2 == 0 ? "a" : "b") }
        for i in 0..<10 { solid(i % 2 == 0 || i == 3, into: heldOut, at: i, generator: &g) }
        let heldOutSet = LabelledImageSet(images: heldOut, categories: categories,
                                          captions: (0..<10).map { "\($0 % 2 == 0 ? "a" : "b") thing \($0)" }, indices: Array(100..<110))
        return (trainingSet, heldOutSet)
    }

    func testAdherenceAccuracyGapSeedsAndCounts() throws {
        let (training, heldOut) = sets()
        var options = CaptionedEvaluation.Options()
        options.seed = 77
        var seen: (prompts: [String], seeds: [UInt64]) = ([], [])
        var roles: [CaptionedEvaluation.ImageRole] = []
        let (report, generated, prompts) = try CaptionedEvaluation.run(
            training: training, heldOut: heldOut, classNames: ["a", "b"], options: options,
            generate: { prompts, seeds in
                seen = (prompts, seeds)
                // Draws the caption's colour, except for the prompts of items 0 and 5 (an "a" and a "b").
                var g = RandomGenerator(seed: 9)
                let out = Tensor.empty([prompts.count, 3, 4, 4])
                for (i, p) in prompts.enumerated() { self.solid(p.hasPrefix("a") != (i == 0 || i == 5), into: out, at: i, generator: &g) }
                return out
            },
            classify: { self.classify($0) },
            features: { images, role in roles.append(role); return self.flattened(images) })

        XCTAssertEqual(seen.prompts, (0..<10).map { "\($0 % 2 == 0 ? "a" : "b") thing \($0)" })
        XCTAssertEqual(prompts, seen.prompts)
        XCTAssertEqual(seen.seeds, (0..<10).map { 77 + UInt64($0) }, "image i uses seed + i")
        XCTAssertEqual(generated.shape, [10, 3, 4, 4])
        XCTAssertEqual(roles, [.training, .heldOut, .generated])
        // Nine labelled items; generated images 0 and 5 are off-category → 7/9. Real: item 3 is wrong → 8/9.
        XCTAssertEqual(report.adherence.correct, 7)
        XCTAssertEqual(report.adherence.total, 9)
        XCTAssertEqual(report.classifierAccuracy.correct, 8)
        XCTAssertEqual(report.classifierAccuracy.perCategory["b"], CategoryAccuracy.Count(correct: 3, total: 4))
        XCTAssertEqual(report.adherenceGapPoints, (8.0 / 9 - 7.0 / 9) * 100, accuracy: 1e-9)
        // Per category: generated a 4/5, b 3/4; real a 5/5, b 3/4 → balanced 77.5 % and 87.5 %.
        XCTAssertEqual(report.adherence.balancedFraction, 0.775, accuracy: 1e-12)
        XCTAssertEqual(report.balancedAdherenceGapPoints, 10, accuracy: 1e-9)
        XCTAssertEqual(report.generatedImages, 10)
        XCTAssertEqual(report.heldOutImages, 10)
        XCTAssertEqual(report.labelledHeldOutImages, 9)
        XCTAssertEqual(report.trainingImages, 40)
        XCTAssertEqual(report.fidImages, 10)
        XCTAssertEqual(report.firstSeed, 77)
        XCTAssertNotNil(report.fid)
        XCTAssertNotNil(report.fidFloor)
        XCTAssertTrue(report.fid!.isFinite && report.fidFloor!.isFinite)
        XCTAssertEqual(report.memorisation.generated, 10)
        XCTAssertEqual(report.memorisation.percentile, 5)
        XCTAssertLessThanOrEqual(report.memorisation.fraction, 0.3, "fresh noisy images are mostly no copies")
    }

    func testAGeneratorThatCopiesTrainingImagesIsFlaggedAndLimitTakesTheFirstCaptions() throws {
        let (training, heldOut) = sets()
        var options = CaptionedEvaluation.Options()
        options.limit = 4
        options.fid = false
        let (report, _, prompts) = try CaptionedEvaluation.run(
            training: training, heldOut: heldOut, classNames: ["a", "b"], options: options,
            generate: { prompts, _ in training.subset(Array(0..<prompts.count)).images },
            classify: { self.classify($0) }, features: { images, _ in self.flattened(images) })
        XCTAssertEqual(prompts.count, 4)
        XCTAssertEqual(report.generatedImages, 4)
        XCTAssertEqual(report.memorisation.fraction, 1, "every generated image is a training image")
        XCTAssertNil(report.fid)
        // Training images 0…3 are a, b, a, b: the captions' categories exactly.
        XCTAssertEqual(report.adherence.fraction, 1)
    }

    func testAGeneratorOfTheWrongSizeIsRefused() {
        let (training, heldOut) = sets()
        XCTAssertThrowsError(try CaptionedEvaluation.run(
            training: training, heldOut: heldOut, classNames: ["a", "b"],
            generate: { prompts, _ in Tensor.zeros([prompts.count, 3, 8, 8]) },
            classify: { self.classify($0) }, features: { images, _ in self.flattened(images) })) {
            XCTAssertTrue("\($0)".contains("generator's output size"), "\($0)")
        }
    }

    /// A captioned JSONL whose labels include `unknown`: every image loads, `unknown` means no category,
    /// and labels index a classifier's own class list by name.
    func testLabelledImageSetLoadsACaptionFileAndLeavesUnknownUnlabelled() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-labelled-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let rows = [("red square", "symbols", [255, 0, 0, 255]), ("green tree", "nature", [0, 255, 0, 255]),
                    ("new thing", "unknown", [0, 0, 255, 0])]
        var lines: [String] = []
        for (i, (caption, label, rgba)) in rows.enumerated() {
            try PNG.write(Image(width: 6, height: 6, channels: 4, fill: rgba.map(UInt8.init)), to: dir.appendingPathComponent("\(i).png").path)
            lines.append(#"{"image": "\#(i).png", "caption": ["\#(caption)", "longer \#(caption)"], "label": "\#(label)"}"#)
        }
        let file = dir.appendingPathComponent("captions.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        let set = try LabelledImageSet.load(try CaptionedImageDataset(captionFile: file.path),
                                            preparation: ImagePreparation(resolution: 4, channels: 3, background: .white))
        XCTAssertEqual(set.images.shape, [3, 3, 4, 4])
        XCTAssertEqual(set.categories, ["symbols", "nature", nil])
        XCTAssertEqual(set.captions, ["red square", "green tree", "new thing"], "the first caption of each item")
        XCTAssertEqual(set.categoryNames, ["nature", "symbols"])
        XCTAssertEqual(set.labels(in: ["symbols", "nature"]), [0, 1, -1])
        // Pixel values in [0, 1]; the transparent third image is flattened onto white.
        XCTAssertEqual(set.images.f32[0], 1, accuracy: 1e-6)          // red channel of the red square
        XCTAssertEqual(set.images.f32[16], 0, accuracy: 1e-6)         // its green channel
        XCTAssertEqual(set.images.f32[2 * 48 + 16], 1, accuracy: 1e-6) // the transparent image is white
        XCTAssertThrowsError(try EvaluationSplits(data: file.path)) { XCTAssertTrue("\($0)".contains("held-out"), "\($0)") }
    }

    /// Generated images reach a classifier of another size as real images do: rounded to 8 bits, then resized.
    func testResizedRoundsToEightBitsAndKeepsFlatColours() {
        let flat = Tensor.empty([2, 3, 8, 8])
        for i in 0..<flat.count { flat.f32[i] = [0.2, 0.6, 1.0][(i / 64) % 3] }
        let small = EvaluationImages.resized(flat, side: 4)
        XCTAssertEqual(small.shape, [2, 3, 4, 4])
        for i in 0..<small.count { XCTAssertEqual(small.f32[i], ([51, 153, 255] as [Float])[(i / 16) % 3] / 255, accuracy: 1e-6) }
        XCTAssertEqual(EvaluationImages.resized(flat, side: 8).toArray(), flat.toArray(), "the same size is passed through")
    }

    /// The feature cache's key changes with any pixel that the FID network would see differently, and
    /// with the shape, but not with sub-8-bit noise (the network rounds pixels to 8 bits first).
    func testFeatureCacheKeyFollowsWhatTheNetworkSees() {
        let a = Tensor.empty([1, 3, 4, 4])
        for i in 0..<a.count { a.f32[i] = Float(i) / 64 }
        let b = Tensor.empty([1, 3, 4, 4]); for i in 0..<b.count { b.f32[i] = a.f32[i] + 1e-6 }
        let c = Tensor.empty([1, 3, 4, 4]); for i in 0..<c.count { c.f32[i] = a.f32[i] }; c.f32[5] += 0.1
        let key = InceptionFeatureCache.key(a, networkTag: "n")
        XCTAssertEqual(InceptionFeatureCache.key(b, networkTag: "n"), key)
        XCTAssertNotEqual(InceptionFeatureCache.key(c, networkTag: "n"), key)
        XCTAssertNotEqual(InceptionFeatureCache.key(a.reshaped([3, 1, 4, 4]), networkTag: "n"), key)
        XCTAssertNotEqual(InceptionFeatureCache.key(a, networkTag: "other"), key)
    }
}
