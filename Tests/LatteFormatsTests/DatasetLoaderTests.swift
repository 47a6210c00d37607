import Foundation
import XCTest
import LatteTestSupport
@testable import LatteFormats

/// Item i is a 3×2 RGB image whose pixels encode i and their own position, so batches, order and
/// flips can all be checked from the floats alone.
private struct CountingDataset: Dataset {
    let count: Int
    var failingIndex: Int? = nil
    var classNames: [String] { ["even", "odd"] }

    func item(at index: Int) throws -> DatasetItem {
        if index == failingIndex { throw DatasetError(.corrupt, file: "item-\(index).png", "synthetic failure") }
        var pixels: [UInt8] = []
        for y in 0..<2 { for x in 0..<3 { pixels += [UInt8(index % 256), UInt8(x), UInt8(y)] } }
        return DatasetItem(image: Image(width: 3, height: 2, channels: 3, pixels: pixels), label: index % 2, caption: "item \(index)")
    }
}

final class DatasetLoaderTests: XCTestCase {
    private func collect(_ loader: DataLoader, _ n: Int) throws -> [Batch] { try (0..<n).map { _ in try loader.next() } }

    func testEveryEpochIsAPermutationAndEpochsDiffer() throws {
        let loader = try DataLoader(dataset: CountingDataset(count: 23), options: DataLoaderOptions(batchSize: 5, seed: 42))
        XCTAssertEqual(loader.batchesPerEpoch, 5)
        let batches = try collect(loader, 15)
        var epochs: [[Int]] = [[], [], []]
        for batch in batches { epochs[batch.state.epoch] += batch.indices }
        for order in epochs { XCTAssertEqual(order.sorted(), Array(0..<23)) }
        XCTAssertNotEqual(epochs[0], epochs[1])
        XCTAssertNotEqual(epochs[0], Array(0..<23))
        XCTAssertEqual(batches.map(\.count), [5, 5, 5, 5, 3, 5, 5, 5, 5, 3, 5, 5, 5, 5, 3])
        XCTAssertEqual(loader.state, LoaderState(seed: 42, epoch: 3, position: 0))
    }

    func testSameSeedSameBatchesDifferentSeedDifferentOrder() throws {
        let a = try collect(DataLoader(dataset: CountingDataset(count: 40), options: DataLoaderOptions(batchSize: 8, seed: 7)), 6)
        let b = try collect(DataLoader(dataset: CountingDataset(count: 40), options: DataLoaderOptions(batchSize: 8, seed: 7)), 6)
        let c = try collect(DataLoader(dataset: CountingDataset(count: 40), options: DataLoaderOptions(batchSize: 8, seed: 8)), 6)
        XCTAssertEqual(a.map(\.indices), b.map(\.indices))
        XCTAssertEqual(a.map(\.pixels), b.map(\.pixels))
        XCTAssertNotEqual(a.map(\.indices), c.map(\.indices))
    }

    func testResumeFromSavedStateReproducesTheRun() throws {
        let options = DataLoaderOptions(batchSize: 4, seed: 99, transforms: [.randomHorizontalFlip(probability: 0.5)])
        let dataset = CountingDataset(count: 10)
        let reference = try collect(DataLoader(dataset: dataset, options: options), 12)
        for stop in [1, 2, 3, 5, 7] {  // 3 batches per epoch: stops inside and at epoch boundaries
            let first = try DataLoader(dataset: dataset, options: options)
            _ = try collect(first, stop)
            let saved = try JSONDecoder().decode(LoaderState.self, from: JSONEncoder().encode(first.state))
            let resumed = try DataLoader(dataset: dataset, options: options)
            try resumed.restore(saved)
            let rest = try collect(resumed, 12 - stop)
            XCTAssertEqual(rest.map(\.indices), reference[stop...].map(\.indices), "stop \(stop)")
            XCTAssertEqual(rest.map(\.pixels), reference[stop...].map(\.pixels), "stop \(stop)")
            XCTAssertEqual(rest.map(\.state), reference[stop...].map(\.state), "stop \(stop)")
        }
        let loader = try DataLoader(dataset: dataset, options: options)
        XCTAssertThrowsError(try loader.restore(LoaderState(seed: 1, epoch: 0, position: 10)))
    }

    func testPrefetchDoesNotChangeContents() throws {
        let dataset = CountingDataset(count: 17)
        var options = DataLoaderOptions(batchSize: 4, seed: 3, transforms: [.randomHorizontalFlip(probability: 0.5)])
        let prefetched = try collect(DataLoader(dataset: dataset, options: options), 13)
        options.prefetch = false
        let direct = try collect(DataLoader(dataset: dataset, options: options), 13)
        XCTAssertEqual(prefetched.map(\.pixels), direct.map(\.pixels))
        XCTAssertEqual(prefetched.map(\.labels), direct.map(\.labels))
    }

    func testBatchLayoutNormalisationAndCaptions() throws {
        let options = DataLoaderOptions(batchSize: 3, shuffle: false, seed: 0, mean: [0.5], std: [0.5])
        let batch = try DataLoader(dataset: CountingDataset(count: 5), options: options).next()
        XCTAssertEqual([batch.count, batch.channels, batch.height, batch.width], [3, 3, 2, 3])
        XCTAssertEqual(batch.indices, [0, 1, 2])
        XCTAssertEqual(batch.labels, [0, 1, 0])
        XCTAssertEqual(batch.captions, ["item 0", "item 1", "item 2"])
        let expected = try (0..<3).flatMap { try CountingDataset(count: 5).item(at: $0).image.planarFloats(mean: [0.5], std: [0.5]) }
        XCTAssertEqual(batch.pixels.count, expected.count)
        for i in 0..<expected.count { XCTAssertEqual(batch.pixels[i], expected[i], accuracy: 1e-6) }
        // N×C×H×W: item 2, channel 1 (x coordinate), row 1, column 2 holds x = 2.
        XCTAssertEqual(batch.pixels[2 * 18 + 1 * 6 + 1 * 3 + 2], 2 / 255 * 2 - 1, accuracy: 1e-6)
    }

    func testRandomFlipIsPerItemSeededAndBalanced() throws {
        let dataset = CountingDataset(count: 400)
        let options = DataLoaderOptions(batchSize: 400, shuffle: false, seed: 5, transforms: [.randomHorizontalFlip(probability: 0.5)])
        let batch = try DataLoader(dataset: dataset, options: options).next()
        // Channel 1 holds x: an unflipped item starts its row with x = 0, a flipped one with x = 2.
        let flipped = (0..<400).map { batch.pixels[$0 * 18 + 6] > 0.5 / 255 }
        let count = flipped.filter { $0 }.count
        XCTAssertTrue((150...250).contains(count), "\(count) of 400 flipped")
        // Same decision for the same (seed, epoch, item) whatever the batch size.
        let small = try DataLoader(dataset: dataset, options: DataLoaderOptions(batchSize: 7, shuffle: false, seed: 5,
                                                                                 transforms: [.randomHorizontalFlip(probability: 0.5)]))
        let firstBatches = try collect(small, 3)
        for (n, b) in firstBatches.enumerated() {
            for j in 0..<b.count { XCTAssertEqual(b.pixels[j * 18 + 6] > 0.5 / 255, flipped[n * 7 + j]) }
        }
        let always = try DataLoader(dataset: dataset, options: DataLoaderOptions(batchSize: 10, seed: 1, transforms: [.randomHorizontalFlip(probability: 1)])).next()
        XCTAssertTrue((0..<10).allSatisfy { always.pixels[$0 * 18 + 6] > 0.5 / 255 })
    }

    func testDropLastAndTransformsProduceUniformBatches() throws {
        let options = DataLoaderOptions(batchSize: 4, dropLast: true, seed: 2,
                                        transforms: [.pad(1, fill: 0), .resize(width: 8, height: 8, filter: .bilinear), .toGray])
        let loader = try DataLoader(dataset: CountingDataset(count: 10), options: options)
        XCTAssertEqual(loader.batchesPerEpoch, 2)
        let batches = try collect(loader, 4)
        XCTAssertEqual(batches.map(\.count), [4, 4, 4, 4])
        XCTAssertEqual(batches.map(\.state.epoch), [0, 0, 1, 1])
        XCTAssertEqual([batches[0].channels, batches[0].height, batches[0].width], [1, 8, 8])
    }

    func testItemErrorsSurfaceWithTheFileAndKeepTheState() throws {
        let dataset = CountingDataset(count: 8, failingIndex: 5)
        let loader = try DataLoader(dataset: dataset, options: DataLoaderOptions(batchSize: 4, shuffle: false))
        _ = try loader.next()
        let before = loader.state
        assertDatasetError(try loader.next(), names: "item-5.png", mentions: ["synthetic failure"])
        XCTAssertEqual(loader.state, before)

        let mixed = try DataLoader(dataset: MixedSizes(), options: DataLoaderOptions(batchSize: 2, shuffle: false))
        assertDatasetError(try mixed.next(), names: "item 1", mentions: ["add a resize or crop"])
        XCTAssertThrowsError(try DataLoader(dataset: dataset, options: DataLoaderOptions(batchSize: 0)))
        XCTAssertThrowsError(try DataLoader(dataset: dataset, options: DataLoaderOptions(batchSize: 9, dropLast: true)))
    }

    func testFashionMNISTEpochWhenFetched() throws {
        let dir = try PinnedAssets.require("fashion-mnist").deletingLastPathComponent().path
        let loadStart = Date()
        let train = try IDXDataset.fashionMNIST(directory: dir, split: .train)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let options = DataLoaderOptions(batchSize: 256, seed: 1, transforms: [.pad(2, fill: 0), .randomHorizontalFlip(probability: 0.5)],
                                        mean: [0.5], std: [0.5])
        let loader = try DataLoader(dataset: train, options: options)
        var histogram = [Int](repeating: 0, count: 10)
        let start = Date()
        for _ in 0..<loader.batchesPerEpoch {
            let batch = try loader.next()
            XCTAssertEqual([batch.channels, batch.height, batch.width], [1, 32, 32])
            XCTAssertEqual(batch.pixels.count, batch.count * 32 * 32)
            for label in batch.labels { histogram[label] += 1 }
        }
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(histogram, [Int](repeating: 6000, count: 10))
        XCTAssertEqual(loader.state.epoch, 1)
        print(String(format: "Fashion-MNIST: load %.2f s; one epoch (pad 2, flip, normalise, batch 256) %.2f s = %.0f items/s",
                     loadSeconds, seconds, Double(train.count) / seconds))
    }

    func testSplitMix64MatchesItsReferenceSequence() {
        // Seed 1234567 through Vigna's reference splitmix64.c: the test vector several ports check against.
        var rng = SplitMix64(seed: 1234567)
        XCTAssertEqual((0..<3).map { _ in rng.next() }, [6457827717110365317, 3203168211198807973, 9817491932198370423])
        var bounded = SplitMix64(seed: 9)
        let draws = (0..<10_000).map { _ in bounded.next(below: 10) }
        XCTAssertTrue(draws.allSatisfy { (0..<10).contains($0) })
        XCTAssertTrue((0..<10).allSatisfy { d in (800...1200).contains(draws.filter { $0 == d }.count) })
    }
}

private struct MixedSizes: Dataset {
    var count: Int { 2 }
    var classNames: [String] { ["x"] }
    func item(at index: Int) throws -> DatasetItem {
        DatasetItem(image: Image(width: 2 + index, height: 2, channels: 1, fill: [0]), label: 0)
    }
}
