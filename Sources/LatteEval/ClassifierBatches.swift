import Foundation
import LatteNN
import LatteTensor

/// A classifier's batches from images [N, C, H, W] held in memory: each epoch a Fisher-Yates shuffle of
/// the images, then whole batches in that order with random left-right flips and, when `maxShift` > 0,
/// random translations by up to `maxShift` pixels (the uncovered border filled with `fill`, one value
/// per channel), all drawn from one generator seeded by `seed ^ 0x5EED`. Its saved position is the
/// epoch, the batch, and the generator at the epoch's start (which replays the shuffle) and now.
///
/// Draw order per image: the flip (only when flips are on), then the x and y shifts (only when
/// `maxShift` > 0) — so the Fashion-MNIST classifier, with flips only, draws exactly as it always has.
struct ClassifierBatches: ResumableBatches {
    let images: Tensor
    let labels: [Int]
    let batchSize: Int
    let horizontalFlips: Bool
    let maxShift: Int
    let fill: [Float]
    let stepsPerEpoch: Int
    private(set) var epoch = 0
    private(set) var batch = 0
    private var generator: RandomGenerator
    private var epochStart: RandomGenerator
    private var order: [Int]

    struct State: Codable { var epoch: Int; var batch: Int; var epochStart: RandomGenerator; var generator: RandomGenerator }

    init(images: Tensor, labels: [Int], batchSize: Int, horizontalFlips: Bool, maxShift: Int = 0, fill: [Float] = [], seed: UInt64) throws {
        guard images.rank == 4, images.shape[0] == labels.count, images.shape[1] >= 1 else {
            throw FIDError("a classifier trains on images [N, C, H, W] with N labels, got \(images.shape) and \(labels.count) labels")
        }
        guard batchSize >= 1, labels.count >= batchSize else {
            throw FIDError("a batch of \(batchSize) needs at least that many training images, got \(labels.count)")
        }
        guard maxShift >= 0, maxShift < min(images.shape[2], images.shape[3]) else {
            throw FIDError("a random shift of up to \(maxShift) pixels does not fit images of \(images.shape[3])×\(images.shape[2])")
        }
        guard maxShift == 0 || fill.count == images.shape[1] else {
            throw FIDError("random shifts need one fill value per channel (\(images.shape[1])), got \(fill.count)")
        }
        self.images = images.contiguous()
        self.labels = labels
        self.batchSize = batchSize
        self.horizontalFlips = horizontalFlips
        self.maxShift = maxShift
        self.fill = fill
        stepsPerEpoch = labels.count / batchSize
        generator = RandomGenerator(seed: seed ^ 0x5EED)
        epochStart = generator
        order = Self.shuffled(count: labels.count, generator: &generator)
    }

    static func shuffled(count n: Int, generator: inout RandomGenerator) -> [Int] {
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, generator.nextInt(below: i + 1)) }
        return order
    }

    mutating func next() throws -> (Tensor, Tensor) {
        if batch == stepsPerEpoch {
            epoch += 1
            batch = 0
            epochStart = generator
            order = Self.shuffled(count: labels.count, generator: &generator)
        }
        let (c, h, w) = (images.shape[1], images.shape[2], images.shape[3])
        let plane = h * w, size = c * plane
        let out = Tensor.empty([batchSize, c, h, w])
        var targets: [Int] = []
        withExtendedLifetime(images) {
            for j in 0..<batchSize {
                let index = order[batch * batchSize + j]
                let src = images.f32 + index * size, dst = out.f32 + j * size
                let flip = horizontalFlips && generator.nextFloat() < 0.5
                var dx = 0, dy = 0
                if maxShift > 0 {
                    dx = generator.nextInt(below: 2 * maxShift + 1) - maxShift
                    dy = generator.nextInt(below: 2 * maxShift + 1) - maxShift
                }
                if !flip && dx == 0 && dy == 0 {
                    dst.update(from: src, count: size)
                } else {
                    // Output pixel (x, y) reads source (x − dx, y − dy), mirrored first when flipped.
                    for ch in 0..<c {
                        let s = src + ch * plane, d = dst + ch * plane
                        let background = maxShift > 0 ? fill[ch] : 0
                        for y in 0..<h {
                            let sy = y - dy
                            for x in 0..<w {
                                let sx = x - dx
                                guard sy >= 0, sy < h, sx >= 0, sx < w else { d[y * w + x] = background; continue }
                                d[y * w + x] = s[sy * w + (flip ? w - 1 - sx : sx)]
                            }
                        }
                    }
                }
                targets.append(labels[index])
            }
        }
        batch += 1
        return (out, Tensor(indices: targets))
    }

    func savedState() throws -> String {
        String(decoding: try JSONEncoder().encode(State(epoch: epoch, batch: batch, epochStart: epochStart, generator: generator)), as: UTF8.self)
    }

    mutating func restore(_ state: String) throws {
        let s = try JSONDecoder().decode(State.self, from: Data(state.utf8))
        guard s.batch >= 0, s.batch <= stepsPerEpoch, s.epoch >= 0 else {
            throw FIDError("classifier data position \(state) does not fit \(stepsPerEpoch) batches per epoch")
        }
        var g = s.epochStart
        order = Self.shuffled(count: labels.count, generator: &g)
        epoch = s.epoch
        batch = s.batch
        epochStart = s.epochStart
        generator = s.generator
    }
}
