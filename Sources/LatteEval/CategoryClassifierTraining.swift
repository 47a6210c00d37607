import Foundation
import LatteFormats
import LatteKernels
import LatteTensor

/// A category classifier for prompt adherence, trained on a data source's labelled training images
/// and measured on its held-out split (`latte classifier train --data emoji`): the images are prepared
/// as the evaluation prepares them (`ImageClassifierConfiguration.preparation`), unlabelled items are
/// left out, the class list is the categories present in the training split.
public enum CategoryClassifierTraining {
    public struct Result {
        public let model: ImageClassifier
        public let heldOutAccuracy: CategoryAccuracy
        /// Labelled images per category in the training split.
        public let trainingCounts: [String: Int]
        /// Training and held-out items left out for having no category.
        public let unlabelledTraining: Int
        public let unlabelledHeldOut: Int
        /// Unreadable images skipped in either split.
        public let skipped: [SkippedFiles.Entry]
        public let settings: ImageClassifier.TrainingSettings
        public let seconds: Double
        public var trainingImages: Int { trainingCounts.values.reduce(0, +) }
    }

    /// Trains on `splits.training`'s labelled images and measures on `splits.heldOut`'s. `configuration`'s
    /// class names are replaced by the training split's categories.
    public static func run(splits: EvaluationSplits, configuration base: ImageClassifierConfiguration, settings: ImageClassifier.TrainingSettings,
                           runDirectory: URL? = nil, checkpointEvery: Int = 500, restart: Bool = false, progress: Bool = false,
                           log: @escaping (String) -> Void = { _ in }) throws -> Result {
        let preparation = try base.preparation
        log("preparing \(splits.training.count) training and \(splits.heldOut.count) held-out images (\(preparation.fingerprint))")
        let training = try LabelledImageSet.load(splits.training, preparation: preparation)
        let heldOut = try LabelledImageSet.load(splits.heldOut, preparation: preparation)
        var configuration = base
        configuration.classNames = training.categoryNames
        guard configuration.classNames.count >= 2 else {
            throw FIDError("the training split has \(configuration.classNames.count) labelled categories; a classifier needs at least 2")
        }
        let labelled = training.categories.indices.filter { training.categories[$0] != nil }
        let trainSet = training.subset(labelled)
        let labels = trainSet.labels(in: configuration.classNames)
        var counts: [String: Int] = [:]
        for c in trainSet.categories { counts[c!, default: 0] += 1 }
        log("training on \(labelled.count) labelled images in \(configuration.classNames.count) categories (\(training.count - labelled.count) unlabelled left out)")

        let start = Date()
        let model = try ImageClassifier.train(configuration: configuration, images: trainSet.images, labels: labels, settings: settings,
                                              runDirectory: runDirectory, checkpointEvery: checkpointEvery, restart: restart,
                                              progress: progress, report: log)
        let seconds = Date().timeIntervalSince(start)
        let heldOutLabels = heldOut.labels(in: configuration.classNames)
        let accuracy = CategoryAccuracy(predictions: try model.predict(heldOut.images), labels: heldOutLabels, classNames: configuration.classNames)
        return Result(model: model, heldOutAccuracy: accuracy, trainingCounts: counts, unlabelledTraining: training.count - labelled.count,
                      unlabelledHeldOut: heldOutLabels.filter { $0 < 0 }.count, skipped: training.skipped + heldOut.skipped,
                      settings: settings, seconds: seconds)
    }

    /// The model card (README.md) of a trained classifier folder.
    public static func card(_ result: Result, data: String, command: String) -> String {
        let c = result.model.configuration
        let parameters = result.model.namedParameters().reduce(0) { $0 + $1.parameter.tensor.count }
        let s = result.settings
        let preparation = (try? c.preparation.fingerprint) ?? "?"
        var lines = [
            "# Category classifier for `\(data)`",
            "",
            "Labels \(c.channels == 3 ? "RGB" : "grey") \(c.resolution)×\(c.resolution) images with one of \(c.classNames.count) categories.",
            "`latte eval` uses it for **prompt adherence** of captioned models trained on `\(data)`: it labels the",
            "images generated from held-out captions, and the share labelled with the caption's true category is",
            "compared with the classifier's own accuracy on the real held-out images below (docs/evaluation.md).",
            "Categories can be hard to see from the image alone: the gap between the two numbers is the measure,",
            "not either one alone.",
            "",
            "## Accuracy on the held-out split",
            "",
            String(format: "**%.2f %%** (%d/%d real held-out images with a category; %d unlabelled left out); every category weighted",
                   result.heldOutAccuracy.fraction * 100, result.heldOutAccuracy.correct, result.heldOutAccuracy.total, result.unlabelledHeldOut),
            String(format: "equally (the mean of the per-category accuracies): **%.2f %%**. Always naming the largest category would score %.2f %%.",
                   result.heldOutAccuracy.balancedFraction * 100, result.heldOutAccuracy.majorityFraction * 100),
            "",
            "| category | training images | held-out images | held-out accuracy |",
            "|---|---|---|---|",
        ]
        for name in c.classNames {
            let h = result.heldOutAccuracy.perCategory[name]
            lines.append("| \(name) | \(result.trainingCounts[name] ?? 0) | \(h?.total ?? 0) | "
                         + (h.map { String(format: "%.1f %%", $0.fraction * 100) } ?? "—") + " |")
        }
        lines += [
            "",
            "## Data",
            "",
            "- Source: `\(data)`, its training split for training and its held-out split for the accuracy above.",
            "- \(result.trainingImages) labelled training images; \(result.unlabelledTraining) training items without a category left out"
                + (result.skipped.isEmpty ? "." : "; \(result.skipped.count) unreadable images skipped."),
            "- Preparation (the same for generated images' real counterparts in `latte eval`): \(preparation).",
            "- The data's own terms apply to these weights' training images (docs/assets.md lists each pinned asset's licence).",
            "",
            "## Network and recipe",
            "",
            "- Stages of widths \(c.widths) (two 3×3 convolutions each, GroupNorm(\(c.normGroups)) and ReLU after each; stride 2 at the",
            "  start of every stage but the first), global average pool, linear to \(c.classNames.count) classes: \(parameters) parameters, f32.",
            "- AdamW (weight decay \(s.weightDecay) on matrices), peak learning rate \(s.learningRate), \(s.warmupSteps) warm-up steps then",
            "  cosine decay to 2 %, batch \(s.batchSize), \(s.epochs) epochs, seed \(s.seed); class c weighs (n_largest / n_c)^\(s.classBalance)",
            "  in the loss; augmentation: "
                + [s.horizontalFlips ? "random left-right flips" : nil, s.maxShift > 0 ? "random shifts of up to \(s.maxShift) px (background fill)" : nil]
                    .compactMap { $0 }.joined(separator: ", ") + (s.horizontalFlips || s.maxShift > 0 ? "." : "none."),
            String(format: "- Trained in %.0f s on %d thread(s) in the project's training loop (`TrainingRun`).", result.seconds, Parallel.threadCount),
            "",
            "Reproduce:",
            "",
            "    \(command)",
            "",
        ]
        return lines.joined(separator: "\n")
    }
}
