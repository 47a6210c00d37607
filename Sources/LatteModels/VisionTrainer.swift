import Foundation
import LatteFormats
import LatteNN
import LatteTensor

/// How `VisionTrainer` trains the projector. How long the run is and when it checkpoints belong to
/// `TrainingRun.Options`.
public struct VisionTrainingSettings: Codable, Equatable, Sendable {
    public var steps: Int
    public var batchSize: Int
    public var learningRate: Float
    public var warmupSteps: Int
    public var minimumLearningRate: Float
    public var weightDecay: Float
    public var clipNorm: Float
    public var emaDecay: Float
    public var seed: UInt64

    public init(steps: Int, batchSize: Int = 8, learningRate: Float = 1e-3, warmupSteps: Int = 50, minimumLearningRate: Float = 1e-5,
                weightDecay: Float = 0, clipNorm: Float = 1, emaDecay: Float = 0.99, seed: UInt64 = 0) {
        (self.steps, self.batchSize, self.learningRate, self.warmupSteps, self.minimumLearningRate) =
            (steps, batchSize, learningRate, warmupSteps, minimumLearningRate)
        (self.weightDecay, self.clipNorm, self.emaDecay, self.seed) = (weightDecay, clipNorm, emaDecay, seed)
    }

    public var schedule: LearningRateSchedule {
        .warmupThen(cosine: true, peak: learningRate, floor: minimumLearningRate, warmup: warmupSteps, total: steps)
    }
}

/// One training sample: a tokenized prompt with its answer(s) (`VisionPrompt`) and the row of the
/// cached image features it shows, in feature set `source` (one set per dataset: Fashion-MNIST, digits,
/// emoji).
public struct VisionTrainingSample: Equatable, Sendable {
    public var prompt: VisionPrompt
    public var feature: Int
    public var source: Int

    public init(prompt: VisionPrompt, feature: Int, source: Int = 0) { (self.prompt, self.feature, self.source) = (prompt, feature, source) }
}

/// The vision path's step for `TrainingRun`: the projector maps cached frozen-encoder tokens into the
/// frozen language model's input embeddings, and the loss is the cross-entropy of the answer's tokens
/// only (the question and the image positions predict nothing). The gradient flows back through the
/// frozen LM's blocks to the projector; the LM is frozen (`freeze()`), so the tape computes no weight
/// gradient for it and the run's arena, optimiser, EMA and checkpoints hold the projector alone.
///
/// A batch is right-padded to its longest sample: under the causal mask no real position sees the
/// padding, and the image block sits at the same positions in every sample (right after the user
/// marker), so one slice-and-concat inserts the whole batch's image rows.
///
/// Data order: epoch e visits the samples in a Fisher–Yates shuffle seeded by (seed, e); the checkpoint
/// saves the count of samples drawn, so a resumed run draws the same batches.
public final class VisionTrainer: StepTrainer {
    public let lm: LLaMAModel
    public let projector: ImageTokenProjector
    public let settings: VisionTrainingSettings
    public let samples: [VisionTrainingSample]
    /// Cached encoder tokens [N, T, C], one tensor per source (float32 or float16: 60,000 images × 16
    /// tokens × 1,280 channels is 2.5 GB in float16; a batch's rows are widened when drawn).
    public let featureSets: [Tensor]
    /// The first feature set (the one-source case).
    public var features: Tensor { featureSets[0] }
    public let update: ParameterUpdate
    public var ema: ExponentialMovingAverage { update.ema! }
    public private(set) var drawn = 0
    private var order: [Int] = []
    private var orderEpoch = -1

    public convenience init(lm: LLaMAModel, projector: ImageTokenProjector, features: Tensor, samples: [VisionTrainingSample],
                            settings: VisionTrainingSettings) throws {
        try self.init(lm: lm, projector: projector, featureSets: [features], samples: samples, settings: settings)
    }

    public init(lm: LLaMAModel, projector: ImageTokenProjector, featureSets: [Tensor], samples: [VisionTrainingSample],
                settings: VisionTrainingSettings) throws {
        guard let features = featureSets.first else { throw TrainingError(message: "no image features") }
        for f in featureSets {
            guard f.rank == 3, f.shape[2] == projector.encoderChannels, f.shape[1] == features.shape[1] else {
                throw TrainingError(message: "image features must be [N, \(features.shape[1]) tokens, \(projector.encoderChannels)], got \(f.shape)")
            }
        }
        guard projector.width == lm.configuration.hiddenSize else {
            throw TrainingError(message: "the projector writes \(projector.width)-wide embeddings, the language model is \(lm.configuration.hiddenSize) wide")
        }
        guard !samples.isEmpty else { throw TrainingError(message: "no training samples") }
        let tokens = features.shape[1]
        let block = samples[0].prompt.imagePositions
        for s in samples {
            guard s.prompt.imagePositions == block, block.count == tokens,
                  s.prompt.answerRanges.allSatisfy({ !$0.isEmpty && $0.lowerBound > block.upperBound && $0.upperBound <= s.prompt.ids.count }),
                  featureSets.indices.contains(s.source), (0..<featureSets[s.source].shape[0]).contains(s.feature) else {
                throw TrainingError(message: "a sample's image block \(s.prompt.imagePositions), answers \(s.prompt.answerRanges) or feature row \(s.feature) of set \(s.source) does not fit \(tokens) image tokens at \(block) of \(featureSets.map { $0.shape[0] }) images")
            }
        }
        lm.freeze()
        self.lm = lm
        self.projector = projector
        self.featureSets = featureSets.map { $0.dtype == .float16 ? $0.contiguous() : $0.toFloat32().contiguous() }
        self.samples = samples
        self.settings = settings
        update = .adamW(model: projector, weightDecay: settings.weightDecay, emaDecay: settings.emaDecay,
                        schedule: settings.schedule, clipNorm: settings.clipNorm)
    }

    /// The next batch's sample indices.
    func nextBatch() -> [Int] {
        (0..<settings.batchSize).map { _ in
            let epoch = drawn / samples.count
            if epoch != orderEpoch {
                var rng = SplitMix64(seed: SplitMix64.mix(settings.seed ^ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15))
                order = Array(0..<samples.count)
                for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.next(below: i + 1)) }
                orderEpoch = epoch
            }
            defer { drawn += 1 }
            return order[drawn % samples.count]
        }
    }

    /// Mean answer-token cross-entropy of `batch` (sample indices) and the fraction of answer tokens
    /// the model's argmax gets right; differentiable with respect to the projector.
    public func loss(_ batch: [Int]) -> (loss: Tensor, tokenAccuracy: Float) {
        let chosen = batch.map { samples[$0] }
        let length = chosen.map(\.prompt.ids.count).max()!
        let ids = chosen.flatMap { $0.prompt.ids + [Int](repeating: VisionPrompt.placeholderID, count: length - $0.prompt.ids.count) }
        let text = withoutGradient { lm.inputEmbeddings(Tensor(indices: ids, shape: [batch.count, length])) }
        let rows = withoutGradient { Tensor.concat(chosen.map { featureSets[$0.source].sliced(axis: 0, $0.feature..<($0.feature + 1)).toFloat32() }, axis: 0) }
        let images = projector(rows)
        let embeddings = ImageTokenInsertion.embeddings(batch: text, block: chosen[0].prompt.imagePositions, with: images)
        let hidden = lm.hiddenStates(embeddings: embeddings)
        // Position p predicts token p + 1: the rows before each answer token (every turn's answer).
        var predicting: [Int] = [], targets: [Int] = []
        for (b, s) in chosen.enumerated() {
            for range in s.prompt.answerRanges {
                for p in range {
                    predicting.append(b * length + p - 1)
                    targets.append(s.prompt.ids[p])
                }
            }
        }
        let picked = hidden.reshaped([batch.count * length, lm.configuration.hiddenSize]).indexSelect(axis: 0, indices: Tensor(indices: predicting))
        let logits = lm.logits(picked)
        let predicted = withoutGradient { logits.argmax(axis: 1).toIntArray() }
        let right = zip(predicted, targets).filter { $0 == $1 }.count
        return (Tensor.crossEntropy(logits: logits, targets: Tensor(indices: targets)), Float(right) / Float(targets.count))
    }

    public func computeGradients() throws -> StepLoss {
        let batch = nextBatch()
        var accuracy: Float = 0
        let value = valueAndGradient(projector, accumulatingInto: update.arena) { _ in
            let (loss, acc) = self.loss(batch)
            accuracy = acc
            return loss
        }
        return StepLoss(loss: value, metrics: [("token_accuracy", accuracy)],
                        display: [("tokens", String(format: "%.0f%%", accuracy * 100))])
    }

    public func checkpointState() throws -> [String: String] {
        let settingsJSON = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        return ["drawn": "\(drawn)", "samples": "\(samples.count)", "vision_training": settingsJSON]
    }

    public func restore(checkpointState extra: [String: String]) throws {
        guard let d = extra["drawn"].flatMap(Int.init), let n = extra["samples"].flatMap(Int.init) else {
            throw TrainingError(message: "not a vision training checkpoint (no data position)")
        }
        guard n == samples.count else {
            throw TrainingError(message: "the checkpoint was trained on \(n) samples, this run has \(samples.count): restart, or use the same data options")
        }
        drawn = d
    }
}
