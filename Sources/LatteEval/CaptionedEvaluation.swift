import Foundation
import LatteTensor

/// The evaluation of a captioned text-to-image model against a labelled held-out split
/// (docs/evaluation.md, "Captioned models"):
///
/// - **prompt adherence**: one image per held-out caption (each item's first caption, image i from
///   seed + i), labelled by a category classifier; the share labelled with the item's true category,
///   beside the same classifier's accuracy on the real held-out images (the gap is the measure);
/// - **FID** of the generated images against the held-out real images (as many of each), with the
///   FID of as many real training images against the same held-out images as its floor: at a few
///   hundred images FID is biased upwards, and the floor shows by how much;
/// - **memorisation** (`Memorisation`): generated images closer to a training image, in the FID
///   network's feature space, than the chosen percentile of held-out images come.
///
/// The generator, the classifier and the feature network come in as closures, so the measure is
/// independent of the model type and testable with fakes; `latte eval` passes the real ones.
public enum CaptionedEvaluation {
    /// Which images a feature request is for (the caller may cache the real sets' features).
    public enum ImageRole: String, Sendable { case training, heldOut = "held-out", generated }

    public struct Options: Sendable {
        /// Seed of the first image; image i uses seed + i.
        public var seed: UInt64 = 1_000_000
        /// Only the first N held-out captions (quick runs; the FID is then more biased).
        public var limit: Int?
        /// Percentile of held-out nearest-training distances used as the near-copy threshold.
        public var memorisationPercentile: Double = 5
        /// Compute the FID and its floor.
        public var fid = true
        public init() {}
    }

    public struct Report: Codable, Equatable, Sendable {
        /// Generated images labelled with their caption's category.
        public var adherence: CategoryAccuracy
        /// The classifier on the real held-out images of the same items.
        public var classifierAccuracy: CategoryAccuracy
        /// (classifier accuracy − adherence) in percentage points.
        public var adherenceGapPoints: Double
        /// The same with every category weighted equally (`CategoryAccuracy.balancedFraction`).
        public var balancedAdherenceGapPoints: Double
        public var fid: Double?
        public var fidMeanTerm: Double?
        /// FID of `fidImages` real training images (evenly spaced through the split) against the held-out images.
        public var fidFloor: Double?
        public var fidFloorMeanTerm: Double?
        /// Images on each side of both FIDs.
        public var fidImages: Int
        public var memorisation: Memorisation.Report
        public var generatedImages: Int
        public var heldOutImages: Int
        /// Held-out images with a category the classifier knows (the adherence denominator).
        public var labelledHeldOutImages: Int
        public var trainingImages: Int
        public var firstSeed: UInt64

        enum CodingKeys: String, CodingKey {
            case adherence, fid, memorisation
            case classifierAccuracy = "classifier_accuracy", adherenceGapPoints = "adherence_gap_points", fidMeanTerm = "fid_mean_term"
            case balancedAdherenceGapPoints = "balanced_adherence_gap_points"
            case fidFloor = "fid_floor", fidFloorMeanTerm = "fid_floor_mean_term", fidImages = "fid_images"
            case generatedImages = "generated_images", heldOutImages = "held_out_images", labelledHeldOutImages = "labelled_held_out_images"
            case trainingImages = "training_images", firstSeed = "first_seed"
        }
    }

    /// Runs the evaluation. `training` and `heldOut` hold real images prepared at the generator's output
    /// size, in [0, 1]; `generate(prompts, seeds)` returns one image per prompt in [0, 1] of that size;
    /// `classify` labels images with indices into `classNames`; `features` maps images to feature rows.
    /// Returns the report, the generated images and their prompts (in order).
    public static func run(training: LabelledImageSet, heldOut: LabelledImageSet, classNames: [String],
                           options: Options = Options(),
                           generate: ([String], [UInt64]) throws -> Tensor,
                           classify: (Tensor) throws -> [Int],
                           features: (Tensor, ImageRole) throws -> Tensor) throws -> (report: Report, generated: Tensor, prompts: [String]) {
        var positions = heldOut.captions.indices.filter { heldOut.captions[$0] != nil }
        if let limit = options.limit { positions = Array(positions.prefix(max(limit, 0))) }
        guard positions.count >= 2 else {
            throw FIDError("the held-out split has \(positions.count) captioned images; the evaluation needs at least 2")
        }
        guard training.count >= 1 else { throw FIDError("the training split has no images") }
        let real = positions.count == heldOut.count ? heldOut : heldOut.subset(positions)
        let prompts = real.captions.map { $0! }
        let seeds = prompts.indices.map { options.seed &+ UInt64($0) }

        let generated = try generate(prompts, seeds)
        guard generated.rank == 4, generated.shape[0] == prompts.count, Array(generated.shape[1...]) == Array(real.images.shape[1...]) else {
            throw FIDError("the generator returned \(generated.shape) for \(prompts.count) prompts; the real images are \(Array(real.images.shape[1...])) (prepare them at the generator's output size)")
        }

        let labels = real.labels(in: classNames)
        let classifierAccuracy = CategoryAccuracy(predictions: try classify(real.images), labels: labels, classNames: classNames)
        let adherence = CategoryAccuracy(predictions: try classify(generated), labels: labels, classNames: classNames)

        let trainingFeatures = try features(training.images, .training)
        let heldOutFeatures = try features(real.images, .heldOut)
        let generatedFeatures = try features(generated, .generated)

        var fid: FrechetDistance.Terms?, floor: FrechetDistance.Terms?
        if options.fid {
            // Factored once, used by both distances.
            let heldOut = try FIDReference(statistics: try FIDStatistics(features: heldOutFeatures))
            fid = try FrechetDistance.terms(try FIDStatistics(features: generatedFeatures), reference: heldOut)
            let n = min(real.count, training.count)
            if n >= 2 {
                floor = try FrechetDistance.terms(try FIDStatistics(features: rows(trainingFeatures, evenlySpaced(n, of: training.count))), reference: heldOut)
            }
        }
        let memorisation = try Memorisation.report(training: trainingFeatures, heldOut: heldOutFeatures, generated: generatedFeatures,
                                                   percentile: options.memorisationPercentile)
        let report = Report(adherence: adherence, classifierAccuracy: classifierAccuracy,
                            adherenceGapPoints: (classifierAccuracy.fraction - adherence.fraction) * 100,
                            balancedAdherenceGapPoints: (classifierAccuracy.balancedFraction - adherence.balancedFraction) * 100,
                            fid: fid?.fid, fidMeanTerm: fid?.meanTerm, fidFloor: floor?.fid, fidFloorMeanTerm: floor?.meanTerm,
                            fidImages: real.count, memorisation: memorisation, generatedImages: prompts.count, heldOutImages: real.count,
                            labelledHeldOutImages: classifierAccuracy.total, trainingImages: training.count, firstSeed: options.seed)
        return (report, generated, prompts)
    }

    /// n positions spread evenly over 0..<count (⌊i·count/n⌋): a deterministic sample that covers the
    /// whole split, not just its first items (a split is ordered by source and code point, so its first
    /// items are one art style and a few categories).
    public static func evenlySpaced(_ n: Int, of count: Int) -> [Int] {
        (0..<n).map { $0 * count / n }
    }

    /// The given rows of a matrix [N, D].
    static func rows(_ matrix: Tensor, _ rows: [Int]) -> Tensor {
        let d = matrix.shape[1]
        let source = matrix.toFloat32().contiguous()
        let out = Tensor.empty([rows.count, d])
        withExtendedLifetime(source) {
            for (j, r) in rows.enumerated() { (out.f32 + j * d).update(from: source.f32 + r * d, count: d) }
        }
        return out
    }
}
