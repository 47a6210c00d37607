import Foundation

/// model.json's optional `evaluation` object: what `latte eval` compares a captioned model with —
/// the data source it was trained on (whose held-out split supplies captions and real images) and the
/// category classifier that labels generated images (docs/evaluation.md, "Captioned models").
///
///     "evaluation": {"data": "emoji", "classifier": "../emoji-classifier"}
///
/// `data` is a `--data` source with its own train/held-out splits (`emoji`); a caption file or image
/// folder has none, so `held_out` then names the held-out set. A relative `classifier` path is
/// resolved against the model folder first, then the working directory.
public struct TextToImageEvaluation: Codable, Equatable, Sendable {
    public var data: String
    public var heldOut: String?
    public var classifier: String

    enum CodingKeys: String, CodingKey {
        case data, classifier
        case heldOut = "held_out"
    }

    public init(data: String, heldOut: String? = nil, classifier: String) {
        self.data = data
        self.heldOut = heldOut
        self.classifier = classifier
    }

    /// The classifier folder: `classifier` as given when absolute; else beside the model folder if it
    /// exists there, else relative to the working directory.
    public func classifierDirectory(modelDirectory: URL) -> URL {
        if classifier.hasPrefix("/") { return URL(fileURLWithPath: classifier) }
        let besideModel = modelDirectory.appendingPathComponent(classifier).standardizedFileURL
        if FileManager.default.fileExists(atPath: besideModel.path) { return besideModel }
        return URL(fileURLWithPath: classifier)
    }
}
