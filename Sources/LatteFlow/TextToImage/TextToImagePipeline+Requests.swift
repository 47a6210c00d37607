import Foundation
import LatteTensor

/// One image to make: its prompt and the seed of its starting noise. The image depends only on these
/// (and the settings), not on which batch it is sampled in.
public struct ImageRequest: Equatable, Sendable {
    public var prompt: String
    public var seed: UInt64

    public init(prompt: String, seed: UInt64) {
        self.prompt = prompt
        self.seed = seed
    }

    /// `count` images of each prompt, prompt-major; image j of a prompt starts from seed + j.
    public static func grid(prompts: [String], count: Int, seed: UInt64) -> [ImageRequest] {
        prompts.flatMap { p in (0..<count).map { ImageRequest(prompt: p, seed: seed &+ UInt64($0)) } }
    }
}

/// Where a run of image requests stands, reported after every sampling step.
public struct GenerationProgress: Sendable {
    /// Images finished before the current batch, the current batch's size, and all requested.
    public let imagesDone: Int
    public let batchImages: Int
    public let imageCount: Int
    /// The step just completed in the current batch, of `stepsPerBatch`.
    public let step: Int
    public let stepsPerBatch: Int
    public let batchIndex: Int
    public let batchCount: Int

    /// Steps completed over the whole run, of `totalSteps`.
    public var completedSteps: Int { batchIndex * stepsPerBatch + step }
    public var totalSteps: Int { batchCount * stepsPerBatch }
}

/// A run of image requests stopped because its progress callback returned false.
public struct GenerationCancelled: Error, CustomStringConvertible {
    public let imagesDone: Int
    public var description: String { "generation cancelled after \(imagesDone) finished images" }
}

extension TextToImagePipeline {
    /// Sampling steps that `generate` runs for `images` requests in batches of `batchSize` (each batch
    /// walks the whole time grid, which may hold more than `settings.steps` steps when group boundaries
    /// are inserted): the total of a progress bar.
    public func samplingSteps(images: Int, settings: SamplerSettings, batchSize: Int) throws -> Int {
        let perBatch = try FlowSampler.timeGrid(settings: settings, configuration: generator.configuration).count - 1
        return perBatch * ((images + max(batchSize, 1) - 1) / max(batchSize, 1))
    }

    /// Images for `requests`, sampled `batchSize` at a time and decoded: [N, C, H, W] in [−1, 1], in
    /// request order. Every prompt is tokenised before any sampling, so a bad prompt fails at once.
    /// `progress` is called after every step; returning false stops the run (`GenerationCancelled`).
    public func generate(_ requests: [ImageRequest], settings: SamplerSettings, batchSize: Int, routing: ExpertRouting = .owning,
                         progress: ((GenerationProgress) -> Bool)? = nil) throws -> Tensor {
        guard !requests.isEmpty else { throw GeneratorError.invalidInput("no image requested") }
        for prompt in Set(requests.map(\.prompt)) { _ = try tokens(for: prompt) }
        return try generate(count: requests.count, seeds: requests.map(\.seed), settings: settings, batchSize: batchSize, routing: routing,
                            progress: progress) { rows in try prompts.encode(batch: try requests[rows].map { try tokens(for: $0.prompt) }) }
    }

    /// Images for prompts already prefilled, one one-row cache per image (image prompts: `ImagePromptEncoder`),
    /// image i starting from `seeds[i]`; batched, decoded and cancelled as `generate(_:settings:batchSize:)`.
    public func generate(promptCaches: [PromptCache], seeds: [UInt64], settings: SamplerSettings, batchSize: Int,
                         routing: ExpertRouting = .owning, progress: ((GenerationProgress) -> Bool)? = nil) throws -> Tensor {
        guard !promptCaches.isEmpty else { throw GeneratorError.invalidInput("no image requested") }
        guard seeds.count == promptCaches.count, promptCaches.allSatisfy({ $0.batch == 1 }) else {
            throw GeneratorError.invalidInput("\(seeds.count) seeds for \(promptCaches.count) prompt caches (one row each)")
        }
        return try generate(count: promptCaches.count, seeds: seeds, settings: settings, batchSize: batchSize, routing: routing,
                            progress: progress) { rows in PromptCache.stack(Array(promptCaches[rows])) }
    }

    /// The batch loop behind both: `prompt(rows)` gives the stacked caches of the images `rows`.
    private func generate(count: Int, seeds: [UInt64], settings: SamplerSettings, batchSize: Int, routing: ExpertRouting,
                          progress: ((GenerationProgress) -> Bool)?, prompt: (Range<Int>) throws -> PromptCache) throws -> Tensor {
        guard batchSize >= 1 else { throw GeneratorError.invalidInput("batch size \(batchSize) must be at least 1") }
        try routing.validate(groups: generator.configuration.groups)
        let steps = try samplingSteps(images: 1, settings: settings, batchSize: 1)
        let starts = Array(stride(from: 0, to: count, by: batchSize))
        var parts: [Tensor] = []
        for (index, first) in starts.enumerated() {
            let rows = first..<min(first + batchSize, count)
            var cancelled = false
            let latents = try sampleLatents(prompt: try prompt(rows), settings: settings, seeds: Array(seeds[rows]), routing: routing) { p in
                guard let progress else { return true }
                cancelled = !progress(GenerationProgress(imagesDone: first, batchImages: rows.count, imageCount: count, step: p.step,
                                                         stepsPerBatch: steps, batchIndex: index, batchCount: starts.count))
                return !cancelled
            }
            if cancelled { throw GenerationCancelled(imagesDone: first) }
            parts.append(decode(latents))
        }
        return parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0).contiguous()
    }
}
