import Foundation
import LatteEval
import LatteFormats
import LatteModels
import LatteTensor

/// The vision path's three image sets with their held-out splits, read from the pinned assets, as the
/// encoder's input (shared by `latte train-vision` and `latte eval understanding`):
/// - Fashion-MNIST: the first N of the training split; held out: the first N of the test split;
/// - digits: MNIST-5k (500 per class, stored sorted by class); held out: every tenth row (index ≡ 9
///   mod 10, 50 per class), trained on the other 4,500;
/// - emoji: `EmojiDataset`'s train / test split (10 % of the emoji held out, both art styles of an emoji on
///   one side), each picture flattened onto black (`VisionImage`) at Twemoji's 72×72 (EmojiOne's 64×64
///   resized to it), then resized by the encoder like any image, with its facts (name, group, dominant
///   colour of the original pixels).
enum VisionData {
    struct Fashion { var images: Tensor; var labels: [Int] }
    struct Digits { var images: Tensor; var labels: [Int] }
    struct Emoji { var images: Tensor; var facts: [EmojiFacts] }

    /// Images [N, 1, 28, 28] in [0, 1] and labels: the first `count` of a Fashion-MNIST split.
    static func fashion(split: IDXDataset.Split, count: Int) throws -> Fashion {
        let dataset = try ImageDataSource.dataset("fashion-mnist", split: split)
        let n = min(count, dataset.count)
        var pixels: [Float] = []
        var labels: [Int] = []
        pixels.reserveCapacity(n * 784)
        for i in 0..<n {
            let item = try dataset.item(at: i)
            pixels += item.image.pixels.map { Float($0) / 255 }
            labels.append(item.label)
        }
        let first = try dataset.item(at: 0).image
        return Fashion(images: Tensor(pixels, shape: [n, first.channels, first.height, first.width]), labels: labels)
    }

    /// Whether MNIST-5k row `index` is held out.
    static func isHeldOutDigit(_ index: Int) -> Bool { index % 10 == 9 }

    /// MNIST-5k's training rows (4,500) or held-out rows (500) as [N, 1, 28, 28] in [0, 1]; at most `count`
    /// (spread over the classes: the rows are taken in an interleaved order).
    static func digits(split: IDXDataset.Split, count: Int = .max) throws -> Digits {
        let file = try AssetCache().require("mnist-5k", file: "mnist_5k.csv.gz")
        let dataset = try CSVDigitsDataset(path: file.path, layout: .mnist)
        let rows = (0..<dataset.count).filter { isHeldOutDigit($0) == (split == .test) }
        // Sorted by class on disk: interleave so a prefix holds every class.
        var perClass: [Int: [Int]] = [:]
        for r in rows { perClass[try dataset.item(at: r).label, default: []].append(r) }
        let longest = perClass.values.map(\.count).max() ?? 0
        var order: [Int] = []
        for k in 0..<longest { for c in perClass.keys.sorted() where k < perClass[c]!.count { order.append(perClass[c]![k]) } }
        order = Array(order.prefix(count))
        var pixels: [Float] = []
        var labels: [Int] = []
        pixels.reserveCapacity(order.count * 784)
        for i in order {
            let item = try dataset.item(at: i)
            pixels += item.image.pixels.map { Float($0) / 255 }
            labels.append(item.label)
        }
        return Digits(images: Tensor(pixels, shape: [order.count, 1, 28, 28]), labels: labels)
    }

    /// The common size emoji pictures are brought to before the encoder: Twemoji's.
    static let emojiSize = 72

    /// The emoji pictures of a split as [N, 3, 72, 72] and their facts; at most `count`.
    static func emoji(split: IDXDataset.Split, count: Int = .max) throws -> Emoji {
        let size = emojiSize
        let dataset = try EmojiDataset.pinned(split: split)
        let n = min(count, dataset.count)
        var planes: [Float] = []
        planes.reserveCapacity(n * 3 * size * size)
        var facts: [EmojiFacts] = []
        for i in 0..<n {
            let entry = dataset.entries[i]
            let image = try dataset.item(at: i).image
            planes += VisionImage.tensor(of: image, size: size, channels: 3, exact: true).toArray()
            facts.append(EmojiFacts(name: entry.captions.first ?? "", category: entry.category, colour: DominantColour.name(of: image)))
        }
        return Emoji(images: Tensor(planes, shape: [n, 3, size, size]), facts: facts)
    }
}

/// How an image becomes the encoder's input, the same for training pictures, `latte chat --image` and
/// `latte generate --describe`: alpha flattened onto black (Fashion-MNIST's background), an image larger
/// than the encoder's input shrunk to it at once (bounded memory), and a smaller one left at its size
/// for the encoder's own bilinear resize — the path Fashion-MNIST's 28×28 training images take, so a
/// 28×28 file in chat is encoded exactly as in training.
enum VisionImage {
    /// [1, C, H, W] in [0, 1]: C is the image's colour channels (1 or 3), or `channels` when given (grey
    /// replicated to RGB); H, W the image's size, at most `size`, or exactly `size` when `exact`.
    static func tensor(of source: Image, size: Int, channels: Int? = nil, exact: Bool = false) -> Tensor {
        var image = source
        if image.channels == 2 || image.channels == 4 {
            let c = image.channels, colour = c - 1
            var flat = [UInt8](repeating: 0, count: image.width * image.height * colour)
            for i in 0..<(image.width * image.height) {
                let a = UInt32(image.pixels[i * c + c - 1])
                for k in 0..<colour { flat[i * colour + k] = UInt8((UInt32(image.pixels[i * c + k]) * a + 127) / 255) }
            }
            image = Image(width: image.width, height: image.height, channels: colour, pixels: flat)
        }
        if exact ? (image.width != size || image.height != size) : (image.width > size || image.height > size) {
            image = image.resized(width: exact ? size : min(size, image.width), height: exact ? size : min(size, image.height))
        }
        let (c, h, w) = (image.channels, image.height, image.width), out = channels ?? c
        var planes = [Float](repeating: 0, count: out * h * w)
        for i in 0..<(h * w) {
            for k in 0..<out { planes[k * h * w + i] = Float(image.pixels[i * c + min(k, c - 1)]) / 255 }
        }
        return Tensor(planes, shape: [1, out, h, w])
    }
}

/// Building the training samples and the held-out questions from `VisionData`'s sets.
extension VisionData {
    /// One image's questions as training turns: the examples of `VisionQuestions` for image `image` in a
    /// seeded order, at most `turns` of them (one turn: one question chosen at random).
    static func visits(of examples: [VisionExample], images: Int, repeats: Int, turns: Int, seed: UInt64,
                       examplesFor: (Int) -> [VisionExample]) -> [[VisionExample]] {
        var byImage = [[VisionExample]](repeating: [], count: images)
        for e in examples { byImage[e.image].append(e) }
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x7475_726E))   // "turn"
        var out: [[VisionExample]] = []
        for r in 0..<repeats {
            let round = r == 0 ? byImage : {
                var again = [[VisionExample]](repeating: [], count: images)
                for e in examplesFor(r) { again[e.image].append(e) }
                return again
            }()
            for questions in round where !questions.isEmpty {
                var order = questions
                for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.next(below: i + 1)) }
                out.append(Array(order.prefix(turns)))
            }
        }
        return out
    }

    /// A held-out set: its tokens and the questions asked about them.
    struct HeldOut {
        var name: String
        var tokens: Tensor
        var questions: [VisionEvaluation.Question]
    }

    /// The held-out questions of the three sets, at most `images` images of each (Fashion-MNIST's test
    /// split from its start, the held-out digits interleaved by class, the held-out emoji), phrasings
    /// seeded by `seed`; tokens through `cache` (computed once per image set).
    static func heldOut(cache: VisionFeatureCache, images: Int, seed: UInt64, sets: Set<String> = ["fashion", "digits", "emoji"],
                        log: (String) -> Void) throws -> [HeldOut] {
        var out: [HeldOut] = []
        if sets.contains("fashion") {
            let test = try fashion(split: .test, count: images)
            out.append(HeldOut(name: "fashion", tokens: try cache.tokens(of: test.images, log: log),
                               questions: VisionEvaluation.fashionQuestions(labels: test.labels, seed: seed)))
        }
        if sets.contains("digits") {
            let test = try digits(split: .test, count: images)
            out.append(HeldOut(name: "digits", tokens: try cache.tokens(of: test.images, log: log),
                               questions: VisionEvaluation.digitQuestions(labels: test.labels, seed: seed)))
        }
        if sets.contains("emoji") {
            let test = try emoji(split: .test, count: images)
            out.append(HeldOut(name: "emoji", tokens: try cache.tokens(of: test.images, log: log),
                               questions: VisionEvaluation.emojiQuestions(test.facts, seed: seed)))
        }
        return out
    }
}
