import Foundation
import LatteFormats
import LatteTensor

/// Training data for image prompts (`latte train-like`): pairs (prompt image A, target image B) with B
/// another image of A's class, never A itself, mixed with steps that keep the class phrases so text
/// conditioning is not forgotten.
///
/// - **Targets** walk the training latents in `LatentEpochs`' seeded order (every image is a target once
///   per epoch, as in `latte train`).
/// - **Which steps keep text**: step s is a text step when ⌊(s+1)·f⌋ > ⌊s·f⌋ for the text fraction f —
///   exactly f of the steps, spread evenly (f = ½: every other step). A text step prompts each row with one
///   of its class's phrases, chosen as `LabelledLatentData` chooses them. Whole steps rather than mixed
///   rows, so each kind's loss is logged apart ("image_loss", "text_loss": `batchKind`).
/// - **Prompt images** on an image step: for each target row, one of the pool's images of the same class
///   other than the target itself, drawn afresh from a hash of (seed, step, row): the generator learns
///   the class the image shows, never a copy of it.
///
/// The stream depends only on the seed and the position (the epoch walk and the step count), which is
/// what a checkpoint saves.
public struct ImagePromptPairs: GeneratorTrainingData {
    public let latents: any LatentRows
    /// Per latent row: its class and the dataset item it was encoded from.
    public let labels: [Int]
    public let items: [Int]
    /// Per class, the `texts` entries of its phrases.
    public let phrases: [[Int]]
    public let texts: PromptTable
    /// The image prompt pool: entry e of `images` is the prompt of dataset item `imageItems[e]`, of class `imageLabels[e]`.
    public let images: PromptTable
    public let imageItems: [Int]
    public let imageLabels: [Int]
    /// Share of the steps that keep text prompts, in [0, 1).
    public let textFraction: Double
    private let imagesOfClass: [[Int]]
    private var epochs: LatentEpochs
    /// Steps drawn so far.
    public private(set) var step = 0
    public private(set) var batchKind: String?

    public var seed: UInt64 { epochs.seed }
    public var batchSize: Int { epochs.batchSize }

    public init(latents: any LatentRows, labels: [Int], items: [Int], phrases: [[Int]], texts: PromptTable,
                images: PromptTable, imageItems: [Int], imageLabels: [Int], textFraction: Double, batchSize: Int, seed: UInt64) throws {
        guard latents.count == labels.count, labels.count == items.count, !labels.isEmpty else {
            throw GeneratorError.invalidInput("\(latents.count) latents, \(labels.count) labels and \(items.count) items do not match")
        }
        guard images.count == imageItems.count, imageItems.count == imageLabels.count else {
            throw GeneratorError.invalidInput("\(images.count) image prompts, \(imageItems.count) items and \(imageLabels.count) labels do not match")
        }
        guard textFraction >= 0, textFraction < 1 else { throw GeneratorError.invalidInput("the text fraction \(textFraction) must lie in [0, 1)") }
        if let bad = labels.first(where: { $0 < 0 || $0 >= phrases.count || phrases[$0].isEmpty }) {
            throw GeneratorError.invalidInput("label \(bad) has no prompt phrases")
        }
        if let bad = phrases.joined().first(where: { $0 < 0 || $0 >= texts.count }) {
            throw GeneratorError.invalidInput("phrase entry \(bad) is not in the prompt table of \(texts.count)")
        }
        var byClass = [[Int]](repeating: [], count: phrases.count)
        for (e, c) in imageLabels.enumerated() {
            guard c >= 0, c < phrases.count else { throw GeneratorError.invalidInput("prompt image \(e) has label \(c), outside the \(phrases.count) classes") }
            byClass[c].append(e)
        }
        // Two per class at least, so every target has a prompt image other than itself.
        for c in Set(labels).sorted() where byClass[c].count < 2 {
            throw GeneratorError.invalidInput("class \(c) has \(byClass[c].count) prompt image\(byClass[c].count == 1 ? "" : "s"); at least 2 are needed, so that a target is never its own prompt")
        }
        self.latents = latents
        (self.labels, self.items, self.phrases, self.texts) = (labels, items, phrases, texts)
        (self.images, self.imageItems, self.imageLabels, self.textFraction) = (images, imageItems, imageLabels, textFraction)
        imagesOfClass = byClass
        epochs = LatentEpochs(count: labels.count, batchSize: batchSize, seed: seed)
    }

    /// Whether step `s` (from 0) keeps text prompts.
    public static func isTextStep(_ s: Int, fraction f: Double) -> Bool {
        (Double(s + 1) * f).rounded(.down) > (Double(s) * f).rounded(.down)
    }

    /// The pool entries prompting target latent rows `rows` on step `s`: each of the row's class, not
    /// the row's own image, from a hash of (seed, s, place in the batch).
    public func promptImages(step s: Int, rows: [Int]) -> [Int] {
        rows.enumerated().map { j, row in
            let candidates = imagesOfClass[labels[row]]
            let h = SplitMix64.mix(seed ^ 0x6C69_6B65 ^ SplitMix64.mix(UInt64(s) << 20 | UInt64(j)))   // "like"
            guard let own = candidates.firstIndex(where: { imageItems[$0] == items[row] }) else {
                return candidates[Int(h % UInt64(candidates.count))]
            }
            let k = Int(h % UInt64(candidates.count - 1))
            return candidates[k >= own ? k + 1 : k]
        }
    }

    public mutating func next() throws -> (latents: Tensor, prompts: [PromptCache]) {
        let s = step
        let rows = epochs.nextRows()
        step += 1
        let x = try latents.rows(rows, seed: seed, epoch: epochs.epoch)
        if Self.isTextStep(s, fraction: textFraction) {
            batchKind = "text"
            let entries = rows.map { item -> Int in
                let choices = phrases[labels[item]]
                return choices[epochs.choice(item: item, among: choices.count)]
            }
            return (x, try texts.caches(entries))
        }
        batchKind = "image"
        return (x, try images.caches(promptImages(step: s, rows: rows)))
    }

    /// The checkpointed position: the epoch walk and the steps drawn.
    struct State: Codable { var epochs: String; var step: Int }

    public func savedState() throws -> String {
        String(decoding: try JSONEncoder().encode(State(epochs: try epochs.savedState(), step: step)), as: UTF8.self)
    }

    public mutating func restore(_ state: String) throws {
        let s = try JSONDecoder().decode(State.self, from: Data(state.utf8))
        guard s.step >= 0 else { throw GeneratorError.invalidInput("the checkpoint's image-prompt step \(s.step) is negative") }
        try epochs.restore(s.epochs)
        step = s.step
    }
}
