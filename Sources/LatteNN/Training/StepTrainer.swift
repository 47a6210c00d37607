import Foundation
import LatteTensor

/// What a trainer plugs into `TrainingRun`: the loss and gradients of one step, and the state a
/// checkpoint must carry beyond the weights (random generator, data position). The run does the rest —
/// the optimiser update behind the non-finite guard, step counting, checkpoints, the log, progress,
/// stopping and exports — so every model trains in the same loop.
public protocol StepTrainer: AnyObject {
    /// The parameters the run updates and checkpoints, with their optimiser, EMA and schedule.
    var update: ParameterUpdate { get }
    /// Draws the next batch, evaluates the loss and adds its gradients into `update.arena` (which the
    /// run has zeroed). Must not touch the optimiser: the run decides whether the step is applied.
    func computeGradients() throws -> StepLoss
    /// Strings saved in the checkpoint beside the weights (random state, data position, configuration).
    /// The key "step" is the run's own.
    func checkpointState() throws -> [String: String]
    /// Restores what `checkpointState` saved; throws when the checkpoint belongs to another kind of run.
    func restore(checkpointState: [String: String]) throws
}

/// How the run updates a trainer's parameters: the model (checkpointed whole, frozen parameters too),
/// its packed trainable parameters, the optimiser, the optional EMA, the learning rate of each step and
/// the gradient-norm clip.
public struct ParameterUpdate {
    public let model: Module
    public let arena: ParameterArena
    public let optimizer: any Optimizer
    public let ema: ExponentialMovingAverage?
    /// Learning rate of step s + 1, indexed by the s steps already taken.
    public let schedule: LearningRateSchedule
    /// Gradients are clipped to this global norm before the update (0: never).
    public let clipNorm: Float

    public init(model: Module, arena: ParameterArena, optimizer: any Optimizer, ema: ExponentialMovingAverage?,
                schedule: LearningRateSchedule, clipNorm: Float) {
        self.model = model
        self.arena = arena
        self.optimizer = optimizer
        self.ema = ema
        self.schedule = schedule
        self.clipNorm = clipNorm
    }
}

extension ParameterUpdate {
    /// The update the project's trainers use: AdamW over `model`'s packed trainable parameters (no
    /// weight decay on norms and biases) and a warmed-up EMA of them. Freeze what should not train first.
    public static func adamW(model: Module, weightDecay: Float, emaDecay: Float, schedule: LearningRateSchedule,
                             clipNorm: Float) -> ParameterUpdate {
        let arena = model.packParameters()
        return ParameterUpdate(model: model, arena: arena,
                               optimizer: AdamW(arena: arena, weightDecay: weightDecay, noDecay: AdamW.normsAndBiases),
                               ema: ExponentialMovingAverage(arena: arena, decay: emaDecay, warmup: true),
                               schedule: schedule, clipNorm: clipNorm)
    }
}

/// One step's loss as a trainer reports it.
public struct StepLoss {
    /// The value that was differentiated.
    public var loss: Float
    /// Further values logged with the step, by column name (e.g. "g0" for group 0's loss, "mse").
    public var metrics: [(name: String, value: Float)]
    /// Further progress-bar fields, shown after the loss (e.g. ("psnr", "27.3 dB")).
    public var display: [(name: String, value: String)]

    public init(loss: Float, metrics: [(name: String, value: Float)] = [], display: [(name: String, value: String)] = []) {
        self.loss = loss
        self.metrics = metrics
        self.display = display
    }
}

/// A stream of training batches whose position a checkpoint can save, so a resumed run draws the same
/// batches as an uninterrupted one.
public protocol ResumableBatches {
    associatedtype Batch
    mutating func next() throws -> Batch
    /// The position, as a string stored in checkpoints.
    func savedState() throws -> String
    mutating func restore(_ state: String) throws
}

public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
