import ArgumentParser
import Foundation
import LatteFlow
import LatteNN
import LatteTensor

/// `latte like-adapter`: folds a `latte train-like` fine-tune into the model folder it started from as a
/// small low-rank delta (`TextToImagePipeline.writeImagePromptAdapter`), so that one folder draws from
/// text with its own weights and from images with the delta applied — no second full generator.
struct LikeAdapterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "like-adapter",
        abstract: "Store an image-prompt fine-tune (`latte train-like`'s output) in the folder it started from, as a low-rank delta.")

    @Option(help: "The model folder the fine-tune started from; the adapter and model.json's image_prompts are written into it.")
    var base = defaultModelFolder
    @Option(help: "The fine-tuned folder (`latte train-like --model BASE --output DIR`).") var tuned: String
    @Option(help: "Rank of each matrix's difference: higher keeps more of the fine-tune in a larger file.") var rank = 16
    @Option(help: "Element type of the adapter: f16 or int8 (row-wise codes, half the size).") var dtype: ConvertWeightsCommand.Target = .f16

    @Option(help: "Guidance for image prompts to record in model.json (image_prompts.default_guidance); default: the tuned folder's.")
    var guidance: Float?

    func validate() throws {
        if rank < 1 { throw ValidationError("--rank must be at least 1") }
        if let g = guidance, !(g >= 0 && g.isFinite) { throw ValidationError("--guidance must be a finite number ≥ 0") }
        if dtype == .f32 { throw ValidationError("--dtype: an adapter is stored as f16 or int8") }
    }

    func run() throws {
        let baseURL = URL(fileURLWithPath: base), tunedURL = URL(fileURLWithPath: tuned)
        let started = Date()
        let summary: LowRankDelta.Summary
        do {
            summary = try TextToImagePipeline.writeImagePromptAdapter(base: baseURL, tuned: tunedURL, rank: rank, dtype: dtype.dtype, guidance: guidance)
        } catch { throw CommandFailure("like-adapter: \(error)") }
        let file = baseURL.appendingPathComponent(TextToImagePipeline.imagePromptAdapterFile)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        print(String(format: "wrote %@ (rank %d, %@: %.2f MB; %d matrices factored): it keeps %.1f %% of the fine-tune's squared change, in %.1f %% of the generator's values (%.1f s)",
                     file.path, rank, dtype.rawValue, Double(bytes) / 1e6, summary.factoredMatrices, summary.energyKept * 100,
                     Double(summary.storedValues) / Double(max(summary.fullValues, 1)) * 100, Date().timeIntervalSince(started)))
        print("\(base)/model.json: image_prompts now names it; `latte generate --model \(base) --like IMAGE` draws with it, text prompts as before")
    }
}
