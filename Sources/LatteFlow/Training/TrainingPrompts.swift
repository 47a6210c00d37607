import Foundation
import LatteFormats

/// The classes of a labelled training set and the phrases a class's images are captioned with:
/// Fashion-MNIST's written phrasings (`ClassPrompts`), or for an image folder each class sub-folder's
/// name.
public struct TrainingClasses: Sendable, Equatable {
    public let names: [String]
    public let phrases: [[String]]

    public init(data: String, dataset: any Dataset) {
        if data == "fashion-mnist" {
            names = IDXDataset.fashionMNISTClasses
            phrases = ClassPrompts.fashionMNIST
        } else if let folder = dataset as? ImageFolderDataset, folder.classPhrases != folder.displayNames || folder.displayNames != folder.classNames.map({ [$0] }) {
            // A class-name map or prompt templates were given: their names and phrases.
            names = folder.displayNames.map { $0[0] }
            phrases = folder.classPhrases
        } else {
            names = dataset.classNames
            phrases = dataset.classNames.map { [$0.replacingOccurrences(of: "_", with: " ")] }
        }
    }
}

/// What each latent row of a training run is prompted with, read from the dataset's annotations (label
/// and captions, without decoding an image: `Dataset.annotation(at:)`).
///
/// A row's texts are its item's captions, or its class's phrases when the item has none. A run is
/// class-conditional when every row's texts are its class's phrases (Fashion-MNIST, an image folder
/// with or without templates): the model then records its classes. Otherwise (a caption file, EmojiOne,
/// an image folder with its own captions.jsonl) it trains on captions and records sample prompts.
public struct TrainingPrompts: Sendable, Equatable {
    /// Per latent row: the dataset item it was encoded from, its label and its texts (at least one).
    public let items: [Int]
    public let labels: [Int]
    public let rows: [[String]]
    public let classes: TrainingClasses
    /// True when some row has captions of its own rather than its class's phrases.
    public let isCaptioned: Bool

    /// `items` are the dataset indices behind the latent rows, in row order (every index today; a latent
    /// cache that skips unreadable files gives the ones that survived).
    public init(dataset: any Dataset, items: [Int], classes: TrainingClasses) throws {
        guard !items.isEmpty else { throw GeneratorError.invalidInput("the training set is empty: there is nothing to train on") }
        var labels: [Int] = [], rows: [[String]] = [], captioned = false
        labels.reserveCapacity(items.count)
        rows.reserveCapacity(items.count)
        for item in items {
            let a = try dataset.annotation(at: item)
            guard a.label >= 0, a.label < classes.phrases.count else {
                throw GeneratorError.invalidInput("item \(item) has label \(a.label), but the dataset names \(classes.phrases.count) classes")
            }
            labels.append(a.label)
            if a.captions.isEmpty {
                rows.append(classes.phrases[a.label])
            } else {
                rows.append(a.captions)
                if a.captions != classes.phrases[a.label] { captioned = true }
            }
        }
        self.items = items
        self.labels = labels
        self.rows = rows
        self.classes = classes
        isCaptioned = captioned
    }

    /// Every text the run prefills: the rows' texts for a captioned run, all class phrases otherwise
    /// (classes the rows happen not to reach too, so a `--limit` run prefills what a full one does).
    public var texts: [String] { isCaptioned ? rows.flatMap { $0 } : classes.phrases.flatMap { $0 } }

    /// The first text of `count` rows spread evenly over the set (distinct): what the sample sheet of a
    /// captioned model draws, one row per prompt.
    public func samplePrompts(count: Int) -> [String] {
        var seen = Set<String>(), prompts: [String] = []
        for i in 0..<Swift.min(count, rows.count) {
            let text = rows[i * rows.count / Swift.min(count, rows.count)][0]
            if seen.insert(text).inserted { prompts.append(text) }
        }
        return prompts
    }

    /// One line for the log: what the run trains on.
    public var summary: String {
        if isCaptioned {
            let captions = rows.reduce(0) { $0 + $1.count }, distinct = Set(rows.joined()).count
            return "training on captions: \(rows.count) images, \(captions) captions (\(distinct) distinct)"
        }
        return "training on class phrases: \(classes.names.count) classes, \(classes.phrases.joined().count) phrases, \(rows.count) images"
    }
}
