import ArgumentParser
import Foundation
import LatteEval
import LatteFormats
import LatteKernels

/// `latte classifier train|eval`: the Fashion-MNIST classifier that labels generated images.
struct ClassifierCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier", abstract: "Train or evaluate the Fashion-MNIST classifier used by `latte eval`.",
        subcommands: [ClassifierTrainCommand.self, ClassifierEvalCommand.self])
}

struct ClassifierTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train the classifier on the 60k training images (AdamW, seeded) and report test accuracy.")

    @Option(help: "Folder to write model.safetensors into.") var output: String
    @Option(help: "Passes over the training images.") var epochs = 3
    @Option(help: "Batch size.") var batchSize = 64
    @Option(help: "Peak learning rate (cosine decay).") var learningRate: Float = 2e-3
    @Option(help: "Random seed (initialisation, order, flips).") var seed: UInt64 = 2026
    @Option(help: "Folder for a checkpoint and the JSONL log, resumed when run again (default: train in memory).") var runDir: String?
    @Option(help: "With --run-dir: checkpoint every N steps.") var checkpointEvery = 500
    @Flag(help: "With --run-dir: start over even if it holds a checkpoint.") var restart = false

    func run() throws {
        let log: (String) -> Void = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
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

struct ClassifierEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Accuracy per class on the 10k Fashion-MNIST test images.")

    @Option(help: "Folder holding model.safetensors.") var model: String
    @Option(help: "Only the first N test images.") var limit: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
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
                let name = names[i].padding(toLength: 12, withPad: " ", startingAt: 0)
                print("  \(name)" + String(format: " %6.2f %%  (%d/%d)", Double(c.correct) / Double(max(c.total, 1)) * 100, c.correct, c.total))
            }
        }
    }
}
