import ArgumentParser
import Foundation
import LatteEval
import LatteFormats
import LatteKernels

/// `latte classifier train|eval`: the classifiers that label generated images — the Fashion-MNIST
/// classifier, or (with `--data`) a category classifier for a captioned data source such as `emoji`.
struct ClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier", abstract: "Train or evaluate the classifiers used by `latte eval` (Fashion-MNIST, or a data source's categories with --data).",
        subcommands: [ClassifierTrainCommand.self, ClassifierEvalCommand.self])
}

struct ClassifierTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train the Fashion-MNIST classifier on the 60k training images, or with --data a category classifier on a data source's training split (AdamW, seeded), and report held-out accuracy.")

    @Option(help: "Folder to write the classifier into.") var output: String
    @Option(help: "Passes over the training images (default: 3 for Fashion-MNIST, 30 with --data).") var epochs: Int?
    @Option(help: "Batch size.") var batchSize = 64
    @Option(help: "Peak learning rate (cosine decay).") var learningRate: Float = 2e-3
    @Option(help: "Random seed (initialisation, order, flips).") var seed: UInt64 = 2026
    @Option(help: "Folder for a checkpoint and the JSONL log, resumed when run again (default: train in memory).") var runDir: String?
    @Option(help: "With --run-dir: checkpoint every N steps.") var checkpointEvery = 500
    @Flag(help: "With --run-dir: start over even if it holds a checkpoint.") var restart = false
    @OptionGroup var category: CategoryClassifierOptions

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
    }

    func run() throws {
        let log: (String) -> Void = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
        if let data = category.data { return try trainCategoryClassifier(data: data, log: log) }
        let epochs = self.epochs ?? 3
        let train = try EvaluationImages.fashionMNIST(split: .train)
        let test = try EvaluationImages.fashionMNIST(split: .test)
        var settings = FashionClassifier.TrainingSettings()
        settings.epochs = epochs
        settings.batchSize = batchSize
        settings.learningRate = learningRate
        settings.seed = seed
        let start = Date()
        let model = try FashionClassifier.train(images: train.images, labels: train.labels, settings: settings,
                                                runDirectory: runDir.map { URL(fileURLWithPath: $0) }, checkpointEvery: checkpointEvery,
                                                restart: restart, progress: true, report: log)
        let seconds = Date().timeIntervalSince(start)
        let accuracy = FashionClassifier.Accuracy(predictions: try model.predict(test.images), labels: test.labels)
        let command = "latte classifier train --output \(output) --epochs \(epochs) --batch-size \(batchSize) --learning-rate \(learningRate) --seed \(seed)"
        try model.save(directory: URL(fileURLWithPath: output), metadata: [
            "architecture": "conv3x3(1→32)-conv3x3s2(32→64)-conv3x3s2(64→64)-fc(3136→128)-fc(128→10), ReLU",
            "input": "[N, 1, 28, 28] grey in [0, 1]",
            "command": command, "epochs": "\(epochs)", "seed": "\(seed)", "threads": "\(Parallel.threadCount)",
            "train_seconds": String(format: "%.0f", seconds), "test_accuracy": String(format: "%.4f", accuracy.fraction),
        ])
        print(String(format: "trained in %.0f s on %d threads; test accuracy %.2f %% (%d/%d); wrote %@/%@", seconds, Parallel.threadCount,
                     accuracy.fraction * 100, accuracy.correct, accuracy.total, output, FashionClassifier.weightsFileName))
    }
}

extension ClassifierTrainCommand {
    /// `--data SPEC`: a category classifier on the source's labelled training images, measured on its held-out split.
    func trainCategoryClassifier(data: String, log: @escaping (String) -> Void) throws {
        let splits = try EvaluationSplits(data: data, heldOut: category.heldOut)
        let configuration = ImageClassifierConfiguration(channels: category.channels, resolution: category.resolution, classNames: [],
                                                         widths: category.widths.values, background: category.background)
        var settings = ImageClassifier.TrainingSettings()
        settings.epochs = epochs ?? settings.epochs
        settings.batchSize = batchSize
        settings.learningRate = learningRate
        settings.seed = seed
        settings.maxShift = category.maxShift
        settings.horizontalFlips = !category.noFlip
        settings.classBalance = category.classBalance
        let result = try CategoryClassifierTraining.run(splits: splits, configuration: configuration, settings: settings,
                                                        runDirectory: runDir.map { URL(fileURLWithPath: $0) }, checkpointEvery: checkpointEvery,
                                                        restart: restart, progress: true, log: log)
        var command = "latte classifier train --data \(data)" + (category.heldOut.map { " --held-out \($0)" } ?? "")
        command += " --output \(output) --resolution \(category.resolution) --channels \(category.channels) --background \(category.background)"
        command += " --widths \(category.widths.values.map(String.init).joined(separator: ",")) --epochs \(settings.epochs) --batch-size \(batchSize)"
        command += " --learning-rate \(learningRate) --max-shift \(category.maxShift)\(category.noFlip ? " --no-flip" : "")"
        command += " --class-balance \(category.classBalance) --seed \(seed)"
        let accuracy = result.heldOutAccuracy
        try result.model.save(directory: URL(fileURLWithPath: output), metadata: [
            "data": splits.description, "command": command, "epochs": "\(settings.epochs)", "seed": "\(seed)",
            "threads": "\(Parallel.threadCount)", "train_seconds": String(format: "%.0f", result.seconds),
            "held_out_accuracy": String(format: "%.4f", accuracy.fraction),
        ], card: CategoryClassifierTraining.card(result, data: splits.description, command: command))
        print(String(format: "trained in %.0f s on %d thread(s) on %d labelled images; held-out accuracy %.2f %% (%d/%d; every category weighted equally %.2f %%); wrote %@",
                     result.seconds, Parallel.threadCount, result.trainingImages, accuracy.fraction * 100, accuracy.correct, accuracy.total,
                     accuracy.balancedFraction * 100, output))
        for name in result.model.configuration.classNames {
            if let c = accuracy.perCategory[name] { print("  \(name.column(result.model.configuration.classNames))" + String(format: " %6.2f %%  (%d/%d)", c.fraction * 100, c.correct, c.total)) }
        }
    }
}

/// The flags of a category classifier (`latte classifier train --data …`).
struct CategoryClassifierOptions: ParsableArguments {
    @Option(help: "Train a category classifier on this data source's training split instead of Fashion-MNIST: a source with its own held-out split (emoji), or a caption file / image folder with --held-out.")
    var data: String?
    @Option(help: "With --data: the held-out set, when the data source has no split of its own.") var heldOut: String?
    @Option(help: "With --data: side of the square input images (the captioned model's output size).") var resolution = 32
    @Option(help: "With --data: 1 (grey) or 3 (RGB).") var channels = 3
    @Option(help: "With --data: what transparent pixels are flattened onto (white, black or RRGGBB), as the model's training did.") var background = "white"
    @Option(help: "With --data: channels of each stage, comma-separated (each later stage halves the size).") var widths = StageWidths(argument: "32,64,128")!
    @Option(help: "With --data: random shifts of up to this many pixels (0: off).") var maxShift = 2
    @Option(help: "With --data: class c weighs (n_largest / n_c)^B in the loss (0: plain mean, 1: every class as much as the largest).")
    var classBalance: Float = 0.5
    @Flag(help: "With --data: no random left-right flips.") var noFlip = false

    func validate() throws {
        if data == nil && heldOut != nil { throw ValidationError("--held-out needs --data") }
        if resolution < 1 { throw ValidationError("--resolution must be at least 1") }
        if channels != 1 && channels != 3 { throw ValidationError("--channels must be 1 or 3") }
        if maxShift < 0 { throw ValidationError("--max-shift must not be negative") }
        if !(classBalance >= 0 && classBalance.isFinite) { throw ValidationError("--class-balance must be a finite number ≥ 0") }
    }
}

/// `--widths 32,64,128`: a category classifier's channels per stage.
struct StageWidths: ExpressibleByArgument {
    let values: [Int]

    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        values = parts.map { $0! }
    }

    var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
}

struct ClassifierEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Accuracy per class on the 10k Fashion-MNIST test images, or with --data a category classifier's on the source's held-out split.")

    @Option(help: "Folder holding model.safetensors.") var model: String
    @Option(help: "Only the first N test images.") var limit: Int?
    @Option(help: "A category classifier (config.json + model.safetensors): measure it on this data source's held-out split.") var data: String?
    @Option(help: "With --data: the held-out set, when the data source has no split of its own.") var heldOut: String?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        if let data { return try evaluateCategoryClassifier(data: data) }
        let classifier = try FashionClassifier.load(directory: URL(fileURLWithPath: model))
        let test = try EvaluationImages.fashionMNIST(split: .test, limit: limit)
        let start = Date()
        let predictions = try classifier.predict(test.images)
        let seconds = Date().timeIntervalSince(start)
        let accuracy = FashionClassifier.Accuracy(predictions: predictions, labels: test.labels)
        let names = FashionClassifier.classNames
        if json {
            var perClass: [String: Double] = [:]
            for (i, c) in accuracy.perClass.enumerated() { perClass[names[i]] = Double(c.correct) / Double(max(c.total, 1)) }
            let object: [String: Any] = ["accuracy": accuracy.fraction, "images": accuracy.total, "per_class": perClass,
                                         "images_per_second": Double(accuracy.total) / max(seconds, 1e-9)]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "accuracy %.2f %% (%d/%d test images, %.0f images/s)", accuracy.fraction * 100, accuracy.correct,
                         accuracy.total, Double(accuracy.total) / max(seconds, 1e-9)))
            for (i, c) in accuracy.perClass.enumerated() {
                let name = names[i].column(names)
                print("  \(name)" + String(format: " %6.2f %%  (%d/%d)", Double(c.correct) / Double(max(c.total, 1)) * 100, c.correct, c.total))
            }
        }
    }
}

extension ClassifierEvalCommand {
    /// `--data SPEC`: the category classifier on the source's held-out images, prepared as it was trained.
    func evaluateCategoryClassifier(data: String) throws {
        let classifier = try ImageClassifier.load(directory: URL(fileURLWithPath: model))
        let splits = try EvaluationSplits(data: data, heldOut: heldOut)
        let heldOut = try LabelledImageSet.load(splits.heldOut, preparation: try classifier.configuration.preparation, limit: limit)
        let names = classifier.configuration.classNames
        let start = Date()
        let accuracy = CategoryAccuracy(predictions: try classifier.predict(heldOut.images), labels: heldOut.labels(in: names), classNames: names)
        let seconds = Date().timeIntervalSince(start)
        if json {
            let object: [String: Any] = ["accuracy": accuracy.fraction, "balanced_accuracy": accuracy.balancedFraction,
                                         "images": accuracy.total, "unlabelled": heldOut.count - accuracy.total,
                                         "per_class": accuracy.perCategory.mapValues(\.fraction), "data": splits.description,
                                         "images_per_second": Double(heldOut.count) / max(seconds, 1e-9)]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "accuracy %.2f %% (%d/%d labelled held-out images of %@; %d unlabelled left out); every category weighted equally %.2f %%",
                         accuracy.fraction * 100, accuracy.correct, accuracy.total, splits.description as NSString, heldOut.count - accuracy.total,
                         accuracy.balancedFraction * 100))
            for name in names {
                guard let c = accuracy.perCategory[name] else { continue }
                print("  \(name.column(names))" + String(format: " %6.2f %%  (%d/%d)", c.fraction * 100, c.correct, c.total))
            }
        }
    }
}
