import Foundation
import LatteFormats
import LatteKernels
import LatteNN

/// Everything a `TextToImageTraining` run is asked for (the flags of `latte train`, same defaults).
public struct TextToImageTrainingOptions {
    /// "fashion-mnist", a folder of images in class sub-folders (trains on class phrases) or a .jsonl
    /// caption file (trains on captions: any dataset whose items carry their own captions does).
    public var data = "fashion-mnist"
    /// A trained autoencoder folder (AutoencoderKL or AutoencoderDC, diffusers layout).
    public var autoencoder = URL(fileURLWithPath: "models/fashion-vae")
    /// The frozen backbone: asset name, GGUF file or Hugging Face folder.
    public var backbone = "smollm2"
    /// Where the model folder is exported (at every checkpoint and at the end).
    public var output = URL(fileURLWithPath: "models/latteflow-fashion")
    /// Checkpoint, latents cache, log and loss curve; a checkpoint there is resumed.
    public var runDirectory = URL(fileURLWithPath: "runs/latteflow-fashion")
    /// The generator's own choices (`GeneratorShape`: defaults, or a config file and flags merged).
    public var shape = GeneratorShape()
    /// Length of the schedule (optimisation steps).
    public var steps = 20_000
    /// Latents per step.
    public var batch = 32
    /// Peak learning rate; cosine decay to a twentieth of it after the warm-up.
    public var learningRate: Float = 5e-4
    public var warmup = 500
    /// How t is drawn. Uniform, as the committed default model was trained (scripts/train_default_model.sh):
    /// each expert owns a K-th of [0, 1], and logit-normal(0, 1) would give each outer group of five ~8 %.
    public var timesteps: TimestepDistribution = .uniform
    /// Probability of dropping a row's prompt to the null prompt.
    public var conditionDropout: Float = 0.1
    public var checkpointEvery = 500
    /// Stop (checkpoint, export) at this step of the `steps` schedule; a later run continues.
    public var stopAfter: Int?
    /// How images become training pixels: a zero border (Fashion-MNIST's 28 → 32; decoded images are
    /// cropped by it, the model folder's `crop`) or a resize and centre crop to a resolution, the background
    /// transparent pixels are flattened onto, and the flip. Its `channels` are replaced by the autoencoder's.
    public var image = ImagePreparation.fashionMNIST
    /// The zero border of `image` (for callers that set only that).
    public var pad: Int {
        get { image.pad }
        set { image.pad = newValue }
    }
    /// Only the first N training images.
    public var limit: Int?
    public var seed: UInt64 = 0
    /// Start over even if the run folder holds a checkpoint.
    public var restart = false
    /// Delete the run folder's latent cache and encode the images again (a cache made with other settings
    /// is refused, not replaced, without this).
    public var rebuildLatents = false
    /// Dataset items per latent-cache shard when the cache is started (nil: `LatentCache.Options`'
    /// default): small in tests, so that the ranks of a distributed run each encode some.
    public var latentShardItems: Int?
    /// Generator weights to start from (a model folder or a .safetensors file); a checkpoint still wins.
    public var initializeFrom: URL?
    /// For an image folder: a class-name map (`folder<TAB>name, name…`, ImageNet's synset files) and prompt
    /// templates ("a photo of a {name}"); each class's phrases are templates × names.
    public var classNames: URL?
    public var promptTemplates: [String] = []
    /// Start every generation layer as a copy of its backbone layer (norms, attention projections, MLP;
    /// docs/method.md §2). Needs the generator to have the backbone's width, MLP width and query heads.
    public var initializeFromBackbone = false
    /// Train only these contiguous expert groups (t drawn from their times; everything else frozen).
    public var trainGroups: [Int]?
    /// The prompts a captioned model's sample sheet draws (model.json `sample_prompts`); empty: the first
    /// captions of `samplePromptCount` training images spread over the set.
    public var samplePrompts: [String] = []
    public static let samplePromptCount = 8
    /// Bytes of f32 prompt caches kept in memory; a larger table goes to an f16 file in the run folder
    /// (`PromptTable`).
    public var promptCacheMemory = PromptTable.defaultMemoryBudget
    /// Seconds to pause after logging each step (tests that kill a run need the time).
    public var pauseAfterLogging: Double = 0
    /// The ranks of a data-parallel run (`latte train --distributed`: `MPIProcessGroup`); nil: this
    /// process alone. Rank 0 prepares the run folder first, then the others read it.
    public var group: ProcessGroup?
    /// The batch's gradient as the sum of this many shards in shard order (docs/distributed.md): the
    /// same count gives the same model on any number of ranks dividing it. nil: the resumed
    /// checkpoint's count, else the number of ranks of a distributed run, else unsharded (one process,
    /// the whole batch at once).
    public var gradientShards: Int?
    /// With several ranks: compare a parameter checksum every N steps (0: only at the start).
    public var checkEvery = 100

    public init() {}

    /// Checks the options that do not need any file; messages name the flags of `latte train`.
    public func validate() throws {
        func fail(_ message: String) -> Error { TrainingError(message: message) }
        if steps < 1 || batch < 1 || shape.groups < 1 { throw fail("--steps, --batch and --groups must be at least 1") }
        try shape.validate()
        if let stopAfter, stopAfter < 1 || stopAfter > steps { throw fail("--stop-after must be between 1 and --steps (\(steps))") }
        if !(0...1).contains(conditionDropout) { throw fail("--condition-dropout must lie in [0, 1]") }
        if checkpointEvery < 0 { throw fail("--checkpoint-every must not be negative") }
        do { try image.validate() } catch let error as DatasetError { throw fail(error.message) }
        if let empty = samplePrompts.firstIndex(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) {
            throw fail("--sample-prompt \(empty + 1) is empty")
        }
        if promptCacheMemory < 0 { throw fail("--prompt-cache-memory must not be negative") }
        if let limit, limit < 1 { throw fail("--limit must be at least 1") }
        if let gradientShards, gradientShards < 1 || gradientShards > batch { throw fail("--gradient-shards must be between 1 and --batch (\(batch))") }
        if checkEvery < 0 { throw fail("--check-every must not be negative") }
        if data == "fashion-mnist" && (classNames != nil || !promptTemplates.isEmpty) {
            throw fail("--class-names and --prompt-template name the classes of an image folder; fashion-mnist has its own phrases")
        }
        if initializeFromBackbone && initializeFrom != nil {
            throw fail("--initialize-from-backbone and --initialize-from both choose the starting weights: give one")
        }
        if trainGroups != nil && initializeFrom == nil {
            throw fail("--train-groups fine-tunes some experts of a trained model: give its weights with --initialize-from")
        }
    }
}
