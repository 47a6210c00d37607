import Foundation

/// The sampling defaults a trained model's model.json gets: the default model's sweep
/// (models/latteflow-fashion/README.md) found Heun with 15 steps and guidance 2 best for FID, at the
/// cost of Euler with 30.
public enum TrainedModelDefaults {
    public static let solver: FlowSolver = .heun
    public static let steps = 15
    public static let guidance: Float = 2
    /// Prepended to every prompt (SmolLM2's turn start); alone it is the null prompt.
    public static let promptStartToken = "<|im_start|>"
    /// The autoencoder's folder name inside the model folder.
    public static let autoencoderFolder = "autoencoder"

    /// The manifest of a model trained on `backbone` with images bordered by `crop` pixels: with its
    /// classes when it was trained on class phrases, with sample prompts when on captions.
    public static func manifest(backbone: String, crop: Int, classNames: [String]?, classPhrases: [[String]]?,
                                samplePrompts: [String]? = nil) -> TextToImageManifest {
        TextToImageManifest(backbone: backbone, autoencoder: autoencoderFolder, promptStartToken: promptStartToken, crop: crop,
                            defaultSteps: steps, defaultGuidance: guidance, defaultSolver: solver,
                            classNames: classNames, classPhrases: classPhrases, samplePrompts: samplePrompts)
    }
}
