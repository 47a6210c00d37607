import ArgumentParser
import Foundation
import LatteFlow
import LatteKernels
import LatteNN
import LatteTensor

/// Time per image of the layerwise timestep experts against the vanilla model (K = 1) with the same
/// layers, steps and guidance, measured in one run. Random weights: speed does not depend on them.
struct BenchSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Sampling speed: K expert groups against the vanilla model (all layers every step).")

    @Option(help: "Expert groups K.") var groups = 5
    @Option(help: "Layers (the backbone's; SmolLM2 has 30).") var layers = 30
    @Option(help: "Generation width.") var width = 192
    @Option(help: "Sampling steps.") var steps = 40
    @Option(help: "Guidance (1 = none; otherwise a batch of two per image).") var guidance: Float = 3
    @Option(help: "Prompt tokens.") var promptLength = 12
    @Option(help: "Timed repetitions (best is reported).") var repeats = 3
    @Option(help: "Threads.") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Training batch for the training-throughput measurement.") var trainingBatch = 16

    /// Forward + backward + AdamW on batches whose times all fall in group 0.
    func trainingSamplesPerSecond(_ c: GeneratorConfiguration) throws -> Double {
        let model = try LayerwiseTimestepExperts(c, seed: 1)
        var g = RandomGenerator(seed: 4)
        for (_, p) in model.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.02, generator: &g)) }
        let prompt = PromptCache(keys: (0..<layers).map { _ in Tensor.normal([trainingBatch, 3, promptLength, 64], generator: &g) },
                                 values: (0..<layers).map { _ in Tensor.normal([trainingBatch, 3, promptLength, 64], generator: &g) },
                                 lengths: Array(repeating: promptLength, count: trainingBatch))
        let data = Tensor.normal([trainingBatch, 4, 8, 8], generator: &g), noise = Tensor.normal([trainingBatch, 4, 8, 8], generator: &g)
        let t = (0..<trainingBatch).map { Float($0) / Float(trainingBatch) * c.resolvedBoundaries[1] }
        let arena = model.packParameters()
        let optimizer = AdamW(arena: arena)
        func step() {
            arena.zeroGradients()
            _ = valueAndGradient(model, accumulatingInto: arena) { m in FlowMatchingLoss().loss(m, data: data, noise: noise, t: t, prompt: prompt).loss }
            optimizer.update(learningRate: 1e-4)
        }
        return Double(trainingBatch) / bestTime(repeats: repeats, step)
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        // SmolLM2-135M geometry: 3 KV heads of 64; 8×8×4 latents with patch 1 → 64 image tokens.
        func config(_ k: Int) -> GeneratorConfiguration {
            GeneratorConfiguration(backbone: "smollm2", layerCount: layers, kvHeads: 3, headDim: 64, width: width,
                                   queryHeads: width / 64, mlpWidth: width * 4, groups: k, latentChannels: 4,
                                   latentHeight: 8, latentWidth: 8, patchSize: 1, ropeTheta: 100_000)
        }
        func timePerImage(_ k: Int) throws -> Double {
            let model = try LayerwiseTimestepExperts(config(k), seed: 1)
            var g = RandomGenerator(seed: 2)
            for (_, p) in model.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.02, generator: &g)) }
            func prompt(_ n: Int) -> PromptCache {
                PromptCache(keys: (0..<layers).map { _ in Tensor.normal([1, 3, n, 64], generator: &g) },
                            values: (0..<layers).map { _ in Tensor.normal([1, 3, n, 64], generator: &g) }, lengths: [n])
            }
            let cond = prompt(promptLength), null = prompt(1)
            let sampler = FlowSampler(model: model, settings: SamplerSettings(steps: steps, guidance: guidance, seed: 3))
            return try bestTime(repeats: repeats) { _ = try sampler.sample(prompt: cond, nullPrompt: null) }
        }
        let experts = try timePerImage(groups)
        let vanilla = try timePerImage(1)
        let trainRate = try trainingSamplesPerSecond(config(groups))
        let result: [String: Any] = [
            "groups": groups, "layers": layers, "layers_per_step_experts": layers / groups, "width": width, "steps": steps,
            "guidance": guidance, "image_tokens": 64, "prompt_tokens": promptLength, "threads": Parallel.threadCount,
            "seconds_per_image_experts": experts, "seconds_per_image_vanilla": vanilla, "speedup": vanilla / experts,
            "includes_prompt_prefill": false, "training_batch": trainingBatch,
            "training_samples_per_second_one_group": trainRate,
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "K=%d: %.3f s/image, vanilla: %.3f s/image, speedup %.2f× (ideal %d×), %d steps, guidance %.1f",
                         groups, experts, vanilla, vanilla / experts, groups, steps, guidance))
            print(String(format: "training, one group of %d layers, batch %d: %.1f samples/s", layers / groups, trainingBatch, trainRate))
        }
    }
}
