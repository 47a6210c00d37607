import Dispatch
import Foundation

/// Where a loader is in its stream of batches. Saving it and restoring it into a loader over the same
/// dataset and options reproduces every later batch exactly.
public struct LoaderState: Codable, Sendable, Equatable {
    public var seed: UInt64
    public var epoch: Int
    /// Items of this epoch already handed out (the next batch starts here).
    public var position: Int

    public init(seed: UInt64, epoch: Int = 0, position: Int = 0) {
        self.seed = seed
        self.epoch = epoch
        self.position = position
    }
}

/// N items as one contiguous N×C×H×W float buffer plus their labels and captions.
public struct Batch: Sendable {
    public var pixels: [Float]
    public var count: Int
    public var channels: Int
    public var height: Int
    public var width: Int
    public var labels: [Int]
    /// One caption per item: its first, or one drawn per (seed, epoch, item) with `drawCaptions`;
    /// nil when the item has none.
    public var captions: [String?]
    /// Dataset indices of the items, in batch order.
    public var indices: [Int]
    /// The loader state this batch was produced from (its epoch and starting position).
    public var state: LoaderState
    /// Positions of the epoch order this batch covered: `count` plus the unreadable items skipped.
    public var span: Int
}

/// What the loader does when an item's image cannot be read or decoded (an `ImageError` from
/// `Dataset.item(at:)`; transform errors always fail).
public enum UnreadableImagePolicy: Sendable {
    /// Throw from `next()`, naming the file (the default).
    case fail
    /// Leave the item out, record it, and fill the batch from the following items.
    case skip(SkippedFiles)
}

/// The files a loader skipped, each recorded once however many epochs meet it. Shared between the
/// caller and the prefetch thread; `report` is called (on whichever thread found it) the first time
/// a file is skipped, so a trainer can log it as it happens.
public final class SkippedFiles: @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public var file: String
        public var reason: String
    }

    private let lock = NSLock()
    private var entries: [Entry] = []
    private var seen: Set<String> = []
    private let report: (@Sendable (Entry) -> Void)?

    public init(report: (@Sendable (Entry) -> Void)? = nil) { self.report = report }

    /// Distinct files skipped so far.
    public var count: Int { lock.withLock { entries.count } }
    public var files: [Entry] { lock.withLock { entries } }

    func record(_ error: ImageError) {
        let entry = Entry(file: error.file, reason: error.message)
        let isNew = lock.withLock { () -> Bool in
            guard seen.insert(entry.file).inserted else { return false }
            entries.append(entry)
            return true
        }
        if isNew { report?(entry) }
    }
}

public struct DataLoaderOptions: Sendable {
    public var batchSize: Int
    public var shuffle: Bool
    /// Drop an epoch's last batch when it would be smaller than `batchSize`.
    public var dropLast: Bool
    public var seed: UInt64
    public var transforms: [ItemTransform]
    /// Per-channel normalisation of v / 255: (v / 255 − mean) / std. Empty means 0 and 1;
    /// one value applies to every channel.
    public var mean: [Float]
    public var std: [Float]
    /// Build the next batch on a background thread while the caller works on this one.
    public var prefetch: Bool
    /// Fail on an unreadable image (default) or skip and count it.
    public var unreadableImages: UnreadableImagePolicy
    /// Pick each item's caption from its list with a generator seeded by (seed, epoch, item), apart
    /// from the transforms' stream; otherwise take the first.
    public var drawCaptions: Bool

    public init(batchSize: Int, shuffle: Bool = true, dropLast: Bool = false, seed: UInt64 = 0,
                transforms: [ItemTransform] = [], mean: [Float] = [], std: [Float] = [], prefetch: Bool = true,
                unreadableImages: UnreadableImagePolicy = .fail, drawCaptions: Bool = false) {
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.transforms = transforms
        self.mean = mean
        self.std = std
        self.prefetch = prefetch
        self.unreadableImages = unreadableImages
        self.drawCaptions = drawCaptions
    }
}

/// Batches a dataset forever, epoch after epoch, each epoch in a seeded shuffled order.
///
/// Determinism contract: batch contents are a pure function of (dataset, options, state). The epoch
/// order is a Fisher-Yates shuffle driven by SplitMix64 seeded from (seed, epoch); random transforms
/// are seeded from (seed, epoch, item index). Prefetching only changes when a batch is computed,
/// never what it contains. Not safe to call from several threads at once.
public final class DataLoader {
    public let dataset: any Dataset
    public let options: DataLoaderOptions
    public private(set) var state: LoaderState

    private var orderKey: (seed: UInt64, epoch: Int)? = nil
    private var order: [Int] = []
    private var pending: PrefetchSlot?
    private let queue = DispatchQueue(label: "latteflow.dataloader.prefetch")

    public init(dataset: any Dataset, options: DataLoaderOptions) throws {
        guard options.batchSize > 0 else {
            throw DatasetError(.inconsistent, file: "<loader>", "batch size must be positive, got \(options.batchSize)")
        }
        guard dataset.count > 0 else { throw DatasetError(.missing, file: "<loader>", "the dataset is empty") }
        guard !options.dropLast || dataset.count >= options.batchSize else {
            throw DatasetError(.inconsistent, file: "<loader>", "dropLast with batch size \(options.batchSize) leaves no batch of \(dataset.count) items")
        }
        self.dataset = dataset
        self.options = options
        self.state = LoaderState(seed: options.seed)
    }

    deinit { pending?.wait() }

    /// Batches per epoch (the last may be short unless `dropLast`).
    public var batchesPerEpoch: Int {
        options.dropLast ? dataset.count / options.batchSize : (dataset.count + options.batchSize - 1) / options.batchSize
    }

    /// Resumes from a saved state; the next batch is the one that followed it originally.
    public func restore(_ saved: LoaderState) throws {
        guard saved.epoch >= 0, saved.position >= 0, saved.position < dataset.count else {
            throw DatasetError(.inconsistent, file: "<loader>", "state epoch \(saved.epoch) position \(saved.position) is outside a dataset of \(dataset.count) items")
        }
        pending?.wait()
        pending = nil
        state = saved
    }

    /// The dataset indices of one epoch, in the order the loader visits them.
    public func epochOrder(_ epoch: Int) -> [Int] {
        if let key = orderKey, key.seed == state.seed, key.epoch == epoch { return order }
        var indices = Array(0..<dataset.count)
        if options.shuffle {
            var rng = SplitMix64(seed: SplitMix64.mix(state.seed ^ SplitMix64.mix(UInt64(epoch) &+ 0x5EED)))
            indices.withUnsafeMutableBufferPointer { p in
                for i in stride(from: p.count - 1, to: 0, by: -1) { p.swapAt(i, rng.next(below: i + 1)) }
            }
        }
        orderKey = (state.seed, epoch)
        order = indices
        return indices
    }

    /// The next batch; rolls into the next epoch at the end of one. On a failing item the error
    /// (naming its file) is thrown and the state stays at this batch. When skipping unreadable
    /// images, a batch fills from the following items of the epoch; an epoch tail left short by
    /// skips is dropped with `dropLast`, and running out of readable images is an error, not a hang.
    public func next() throws -> Batch {
        var current = state
        var scanned = 0
        while true {
            let batch: Batch
            if let slot = pending, slot.state == current {
                pending = nil
                batch = try slot.take()
            } else {
                pending?.wait()
                pending = nil
                batch = try Self.build(dataset: dataset, options: options, state: current, order: remaining(for: current))
            }
            let next = advanced(current, by: batch.span)
            if batch.count > 0, !(options.dropLast && batch.count < options.batchSize) {
                state = next
                if options.prefetch { startPrefetch(state) }
                return batch
            }
            // Only skips get here: every item of the span was unreadable, or the tail came up short.
            scanned += batch.span
            guard scanned <= 2 * dataset.count else {
                var skipped = 0
                if case .skip(let files) = options.unreadableImages { skipped = files.count }
                throw DatasetError(.missing, file: "<loader>",
                                   "after skipping \(skipped) unreadable of \(dataset.count) images, no batch of \(options.dropLast ? "\(options.batchSize) " : "")readable images is left")
            }
            current = next
        }
    }

    /// The batch of exactly `indices`, in order, built as `next()` builds one (transforms seeded by
    /// (seed, `epoch`, item), normalisation, unreadable images recorded and left out under `.skip`), for
    /// one ordered pass over a dataset — encoding a latent cache — where `next()` would roll into the
    /// next epoch. `options.batchSize` is ignored; `span` is `indices.count`.
    public static func batch(of dataset: any Dataset, indices: [Int], options: DataLoaderOptions, epoch: Int = 0) throws -> Batch {
        var o = options
        o.batchSize = Swift.max(1, indices.count)
        return try build(dataset: dataset, options: o, state: LoaderState(seed: options.seed, epoch: epoch), order: indices[...])
    }

    // MARK: - Internals

    /// The epoch order from `state.position` on: a batch takes its items from the front.
    private func remaining(for state: LoaderState) -> ArraySlice<Int> {
        let order = epochOrder(state.epoch)
        if case .fail = options.unreadableImages {
            return order[state.position..<min(state.position + options.batchSize, order.count)]
        }
        return order[state.position...]
    }

    private func advanced(_ state: LoaderState, by taken: Int) -> LoaderState {
        var next = state
        next.position += taken
        let remaining = dataset.count - next.position
        if remaining <= 0 || (options.dropLast && remaining < options.batchSize) {
            next.epoch += 1
            next.position = 0
        }
        return next
    }

    private func startPrefetch(_ state: LoaderState) {
        let slot = PrefetchSlot(state: state)
        let dataset = self.dataset, options = self.options, order = remaining(for: state)
        queue.async { slot.fulfil(Result { try Self.build(dataset: dataset, options: options, state: state, order: order) }) }
        pending = slot
    }

    /// Takes up to `batchSize` readable items from the front of `order`.
    static func build(dataset: any Dataset, options: DataLoaderOptions, state: LoaderState, order: ArraySlice<Int>) throws -> Batch {
        var pixels: [Float] = []
        var labels: [Int] = []
        var captions: [String?] = []
        var indices: [Int] = []
        var span = 0
        var shape: (c: Int, h: Int, w: Int)? = nil
        var scale: [Float] = [], bias: [Float] = []
        let capacity = min(options.batchSize, order.count)
        for index in order {
            if indices.count == options.batchSize { break }
            span += 1
            let item: DatasetItem
            do {
                item = try dataset.item(at: index)
            } catch let error as ImageError {
                guard case .skip(let skipped) = options.unreadableImages else { throw error }
                skipped.record(error)
                continue
            }
            let slot = indices.count
            var rng = SplitMix64(seed: SplitMix64.mix(state.seed ^ SplitMix64.mix(UInt64(state.epoch) ^ SplitMix64.mix(UInt64(index)))))
            var image = item.image
            for transform in options.transforms { image = try transform.apply(image, rng: &rng) }
            if let s = shape {
                guard image.channels == s.c, image.height == s.h, image.width == s.w else {
                    throw DatasetError(.inconsistent, file: "item \(index)",
                                       "after transforms it is \(image.width)x\(image.height)x\(image.channels) but the batch is \(s.w)x\(s.h)x\(s.c); add a resize or crop transform")
                }
            } else {
                shape = (image.channels, image.height, image.width)
                pixels = [Float](repeating: 0, count: capacity * image.pixels.count)
                (scale, bias) = try affine(channels: image.channels, mean: options.mean, std: options.std)
            }
            image.writePlanar(into: &pixels, offset: slot * image.pixels.count, scale: scale, bias: bias)
            labels.append(item.label)
            indices.append(index)
            if options.drawCaptions, item.captions.count > 1 {
                // Its own stream, so drawing captions leaves the transforms' draws unchanged.
                var pick = SplitMix64(seed: SplitMix64.mix(state.seed ^ SplitMix64.mix(UInt64(state.epoch) ^ SplitMix64.mix(UInt64(index) ^ 0xCA97_10E5))))
                captions.append(item.captions[pick.next(below: item.captions.count)])
            } else {
                captions.append(item.caption)
            }
        }
        guard let s = shape else {
            return Batch(pixels: [], count: 0, channels: 0, height: 0, width: 0, labels: [], captions: [], indices: [], state: state, span: span)
        }
        if indices.count < capacity { pixels.removeLast((capacity - indices.count) * s.c * s.h * s.w) }
        return Batch(pixels: pixels, count: indices.count, channels: s.c, height: s.h, width: s.w,
                     labels: labels, captions: captions, indices: indices, state: state, span: span)
    }

    /// (v / 255 − mean) / std as v · scale + bias per channel.
    private static func affine(channels: Int, mean: [Float], std: [Float]) throws -> ([Float], [Float]) {
        func expand(_ v: [Float], _ fallback: Float, _ name: String) throws -> [Float] {
            if v.isEmpty { return [Float](repeating: fallback, count: channels) }
            if v.count == 1 { return [Float](repeating: v[0], count: channels) }
            guard v.count == channels else {
                throw DatasetError(.inconsistent, file: "<loader>", "\(name) has \(v.count) values for \(channels)-channel images")
            }
            return v
        }
        let m = try expand(mean, 0, "mean"), s = try expand(std, 1, "std")
        guard !s.contains(0) else { throw DatasetError(.inconsistent, file: "<loader>", "std contains zero") }
        return ((0..<channels).map { 1 / (255 * s[$0]) }, (0..<channels).map { -m[$0] / s[$0] })
    }
}

/// One batch being built on the prefetch queue.
private final class PrefetchSlot: @unchecked Sendable {
    let state: LoaderState
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Batch, Error>?  // written once before `done` is signalled

    init(state: LoaderState) { self.state = state }

    func fulfil(_ result: Result<Batch, Error>) {
        self.result = result
        done.signal()
    }

    /// Blocks until the batch is ready (or failed).
    func wait() {
        done.wait()
        done.signal()  // later waiters pass straight through
    }

    func take() throws -> Batch {
        wait()
        return try result!.get()
    }
}

extension Image {
    /// Writes v · scale[c] + bias[c] for every sample, planar (CHW), at `offset` in `buffer`.
    func writePlanar(into buffer: inout [Float], offset: Int, scale: [Float], bias: [Float]) {
        let plane = width * height, channels = self.channels
        precondition(offset + plane * channels <= buffer.count, "batch buffer too small")
        pixels.withUnsafeBufferPointer { src in
            buffer.withUnsafeMutableBufferPointer { dst in
                for c in 0..<channels {
                    let out = dst.baseAddress! + offset + c * plane
                    let a = scale[c], b = bias[c]
                    var p = src.baseAddress! + c
                    for i in 0..<plane {
                        out[i] = Float(p.pointee) * a + b
                        p += channels
                    }
                }
            }
        }
    }
}
