import Foundation
import LatteFormats
import LatteNN
import LatteTensor

/// A small CNN that labels square grey or RGB images of any size (values in [0, 1]) with one of N
/// classes: the category classifier behind prompt adherence (`CaptionedEvaluation`). A sibling of
/// `FashionClassifier`, whose fixed 28×28 grey shape and committed weights stay as they are.
///
///     per stage s (widths w₀, w₁, …): conv 3×3 → GroupNorm → ReLU → conv 3×3 → GroupNorm → ReLU
///                                      (the first conv has stride 2 in every stage but the first)
///     global average pool; linear w_last → N
///
/// The global pool makes the head independent of the input size; GroupNorm keeps training stable
/// without batch statistics (so a single image is labelled the same alone or in a batch).
public final class ImageClassifier: Module {
    public static let weightsFileName = "model.safetensors"

    public let configuration: ImageClassifierConfiguration
    let stages: [ClassifierStage]
    let head: Linear

    /// A randomly initialised classifier (torch's default initialisation), seeded.
    public init(configuration: ImageClassifierConfiguration, seed: UInt64) throws {
        try configuration.validate()
        self.configuration = configuration
        var g = RandomGenerator(seed: seed)
        var stages: [ClassifierStage] = []
        var input = configuration.channels
        for (s, width) in configuration.widths.enumerated() {
            stages.append(ClassifierStage(input, width, stride: s == 0 ? 1 : 2, groups: configuration.normGroups, generator: &g))
            input = width
        }
        self.stages = stages
        head = Linear(input, configuration.classNames.count, generator: &g)
    }

    /// Loads `config.json` and `model.safetensors` from a folder written by `save` (strict: every key,
    /// every shape).
    public static func load(directory: URL) throws -> ImageClassifier {
        let configURL = directory.appendingPathComponent(ImageClassifierConfiguration.fileName)
        let weightsURL = directory.appendingPathComponent(weightsFileName)
        guard FileManager.default.fileExists(atPath: configURL.path), FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw FIDError("\(directory.path): not an image classifier folder (needs \(ImageClassifierConfiguration.fileName) and \(weightsFileName); train one with `latte classifier train --data SPEC --output \(directory.path)`)")
        }
        let configuration: ImageClassifierConfiguration
        do { configuration = try JSONDecoder().decode(ImageClassifierConfiguration.self, from: Data(contentsOf: configURL)) } catch {
            throw FIDError("\(configURL.path): not a classifier configuration (\(error))")
        }
        try configuration.validate(file: configURL.path)
        let model = try ImageClassifier(configuration: configuration, seed: 0)
        try model.loadSafetensors(weightsURL)
        return model
    }

    /// Logits [N, classes] of images [N, C, R, R] in [0, 1].
    public func callAsFunction(_ images: Tensor) -> Tensor {
        var h = images * 2 - 1
        for stage in stages { h = stage(h) }
        return head(h.mean(axes: [2, 3]))
    }

    /// Predicted class of each image [N, C, R, R] in [0, 1] (C and R as configured).
    public func predict(_ images: Tensor, batchSize: Int = 256) throws -> [Int] {
        let c = configuration
        guard images.rank == 4, images.shape[1] == c.channels, images.shape[2] == c.resolution, images.shape[3] == c.resolution else {
            throw FIDError("this classifier takes images [N, \(c.channels), \(c.resolution), \(c.resolution)] in [0, 1], got \(images.shape)")
        }
        return ClassifierTrainingSupport.predictedClasses(images, batchSize: batchSize) { self($0) }
    }

    /// Writes `config.json`, `model.safetensors` (f32, with `metadata`) and, when given, `README.md`
    /// into `directory`.
    public func save(directory: URL, metadata: [String: String] = [:], card: String? = nil) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(configuration).write(to: directory.appendingPathComponent(ImageClassifierConfiguration.fileName), options: .atomic)
        try saveSafetensors(directory.appendingPathComponent(Self.weightsFileName), metadata: metadata)
        if let card { try Data(card.utf8).write(to: directory.appendingPathComponent("README.md"), options: .atomic) }
    }
}

/// One stage of `ImageClassifier`: two 3×3 convolutions, each followed by GroupNorm and ReLU.
final class ClassifierStage: Module {
    let conv1: Conv2d
    let norm1: GroupNorm
    let conv2: Conv2d
    let norm2: GroupNorm

    init(_ input: Int, _ output: Int, stride: Int, groups: Int, generator g: inout RandomGenerator) {
        conv1 = Conv2d(input, output, kernelSize: 3, stride: stride, padding: 1, generator: &g)
        norm1 = GroupNorm(groups: groups, channels: output)
        conv2 = Conv2d(output, output, kernelSize: 3, padding: 1, generator: &g)
        norm2 = GroupNorm(groups: groups, channels: output)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        norm2(conv2(norm1(conv1(x)).relu())).relu()
    }
}
