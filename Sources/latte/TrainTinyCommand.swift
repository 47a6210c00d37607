import ArgumentParser
import Foundation
import LatteFlow
import LatteNN
import LatteTensor

/// `latte train-tiny` (hidden): the generator trainer on a tiny random configuration and synthetic
/// data, checkpointing every step. It exists so a test can SIGKILL a real training process mid-run,
/// start it again, and compare the losses with an uninterrupted run.
struct TrainTinyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-tiny", abstract: "Tiny synthetic generator training (for resume tests).", shouldDisplay: false)

    @Option(help: "Folder for the checkpoint and log.jsonl; an existing checkpoint is resumed.") var runDir: String
    @Option(help: "Steps.") var steps = 8
    @Option(help: "Pause after each step, in milliseconds (gives a test time to kill the process).") var stepDelayMs = 0

    /// Batch i is drawn from seed i; prompts cycle, so the stream depends only on the position.
    struct Data: GeneratorTrainingData {
        let configuration: GeneratorConfiguration
        let prompts: [PromptCache]
        var position = 0

        mutating func next() throws -> (latents: Tensor, prompts: [PromptCache]) {
            defer { position += 1 }
            let c = configuration
            return (Tensor.randomNormal([4, c.latentChannels, c.latentHeight, c.latentWidth], seed: UInt64(1000 + position)),
                    (0..<4).map { prompts[($0 + position) % prompts.count] })
        }
        func savedState() throws -> String { "\(position)" }
        mutating func restore(_ state: String) throws {
            guard let p = Int(state) else { throw TrainingError(message: "bad data position '\(state)'") }
            position = p
        }
    }

    func run() throws {
        let c = GeneratorConfiguration(backbone: "synthetic", layerCount: 4, kvHeads: 2, headDim: 8, width: 16, queryHeads: 4, mlpWidth: 24,
                                       groups: 2, latentChannels: 2, latentHeight: 4, latentWidth: 4, patchSize: 2, ropeTheta: 100)
        func prompt(_ length: Int, _ seed: UInt64) -> PromptCache {
            var g = RandomGenerator(seed: seed)
            return PromptCache(keys: (0..<4).map { _ in Tensor.normal([1, 2, length, 8], generator: &g) },
                               values: (0..<4).map { _ in Tensor.normal([1, 2, length, 8], generator: &g) }, lengths: [length])
        }
        var data = Data(configuration: c, prompts: (0..<3).map { prompt(2 + $0, UInt64(100 + $0)) })
        let trainer = GeneratorTrainer(model: try LayerwiseTimestepExperts(c, seed: 1),
                                       settings: TrainingSettings(steps: steps, learningRate: 1e-3, warmupSteps: 2, checkpointEvery: 1, seed: 7),
                                       nullPrompt: prompt(1, 9))
        let run = URL(fileURLWithPath: runDir), checkpoint = run.appendingPathComponent("checkpoint")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        if Checkpoint.exists(at: checkpoint) { try trainer.resume(from: checkpoint, data: &data) }
        try trainer.train(&data, checkpointDirectory: checkpoint, logURL: run.appendingPathComponent("log.jsonl")) { _ in
            if stepDelayMs > 0 { usleep(UInt32(stepDelayMs) * 1000) }
        }
    }
}
