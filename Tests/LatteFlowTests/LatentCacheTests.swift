import Foundation
import XCTest
import LatteFlow
import LatteFormats
import LatteModels
import LatteTensor

/// The on-disk latent cache: shards and manifest, reopening without encoding, resuming after a stop
/// with the bytes of an uninterrupted run, refusing other settings, skipping unreadable images, naming
/// a damaged shard, and flip variants. A tiny random AutoencoderKL (grey 8×8 → 2×4×4) on generated images.
final class LatentCacheTests: XCTestCase {
    /// Generated grey 8×8 images; `broken` items fail like an unreadable file.
    struct Pictures: Dataset {
        var count = 10
        var broken: Set<Int> = []
        var salt: UInt8 = 0
        let classNames = ["a", "b"]
        func item(at index: Int) throws -> DatasetItem {
            if broken.contains(index) { throw ImageError(.corrupt, file: "/data/broken-\(index).png", "not a PNG") }
            let pixels = (0..<64).map { UInt8(truncatingIfNeeded: $0 * 7 + index * 31 + Int(salt) + ($0 % 8) * index) }
            return DatasetItem(image: Image(width: 8, height: 8, channels: 1, pixels: pixels), label: index % 2)
        }
    }

    var root: URL!
    var vaeFolder: URL!
    var vae: AutoencoderKL!
    /// Images the encoder was asked to encode.
    var encoded = 0

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("latte-latents-\(UUID().uuidString)")
        vaeFolder = root.appendingPathComponent("vae")
        vae = try Self.autoencoder(seed: 4)
        try vae.save(directory: vaeFolder)
        encoded = 0
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    static func autoencoder(seed: UInt64) throws -> AutoencoderKL {
        var v = AutoencoderKLConfiguration()
        v.inChannels = 1; v.outChannels = 1; v.blockOutChannels = [8, 8]; v.normNumGroups = 4; v.latentChannels = 2
        v.scalingFactor = 0.5; v.shiftFactor = 0.1
        return try AutoencoderKL(v, seed: seed)
    }

    /// The AutoencoderKL's encoder, counting the images it sees.
    func encoder() -> LatentEncoder {
        var e = LatentEncoder(vae, folder: vaeFolder)
        let plain = e.encode
        e.encode = { [unowned self] x in
            encoded += x.dim(0)
            return try plain(x)
        }
        return e
    }

    func open(_ name: String, dataset: any Dataset = Pictures(), preparation: ImagePreparation = ImagePreparation(channels: 1),
              options: LatentCache.Options = LatentCache.Options(shardItems: 3, batchSize: 2), log: ((String) -> Void)? = nil) throws -> LatentCache {
        try LatentCache.open(encoder: encoder(), dataset: dataset, preparation: preparation, directory: root.appendingPathComponent(name),
                             options: options, report: { log?($0) })
    }

    /// What the autoencoder gives for items' images, prepared the same way, one at a time.
    func reference(_ items: [Int], dataset: any Dataset = Pictures(), mirrored: Bool = false) throws -> [Float] {
        try items.flatMap { i -> [Float] in
            var pixels = try dataset.item(at: i).image.pixels
            if mirrored { pixels = (0..<8).flatMap { row in pixels[(row * 8)..<(row * 8 + 8)].reversed() } }
            let x = Tensor(pixels.map { Float($0) / 127.5 - 1 }, shape: [1, 1, 8, 8])
            return withoutGradient { vae.scaledLatent(vae.encode(x).mean) }.toArray()
        }
    }

    func assertClose(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max() ?? 0, 1e-4, file: file, line: line)
    }

    func testEncodesIntoShardsAndReopensWithoutEncoding() throws {
        var lines: [String] = []
        let cache = try open("c", log: { lines.append($0) })
        XCTAssertEqual(encoded, 10)
        XCTAssertEqual([cache.count, cache.variantCount], [10, 1])
        XCTAssertEqual(cache.itemShape, [2, 4, 4])
        XCTAssertEqual(cache.datasetIndices, Array(0..<10))
        let names = try FileManager.default.contentsOfDirectory(atPath: cache.directory.path).sorted()
        XCTAssertEqual(names, ["manifest.json"] + (0..<4).map { String(format: "shard-%05d.safetensors", $0) })
        XCTAssertEqual(cache.manifest.shards.map(\.rows), [3, 3, 3, 1])
        XCTAssertEqual(cache.manifest.settings.preparation, ImagePreparation(channels: 1).fingerprint)
        XCTAssertEqual(cache.manifest.settings.dataset.method, "pixels")
        XCTAssertEqual([cache.manifest.settings.scalingFactor, cache.manifest.settings.shiftFactor], [0.5, 0.1])
        assertClose(try cache.rows([7, 0, 3]).toArray(), try reference([7, 0, 3]))
        XCTAssertEqual(try cache.rows([9]).shape, [1, 2, 4, 4])
        XCTAssertThrowsError(try cache.rows([10]))

        let again = try open("c", options: LatentCache.Options(shardItems: 5))
        XCTAssertEqual(encoded, 10, "a complete cache with the same settings is read, not encoded")
        XCTAssertEqual(try again.rows(Array(0..<10)).toArray(), try cache.rows(Array(0..<10)).toArray())
        XCTAssertEqual(again.manifest.shardItems, 3, "the cache keeps its own layout")
    }

    /// A run stopped after two shards (as by a kill, with a half-written next shard left behind) continues
    /// from the third and ends with the same files as an uninterrupted run.
    func testAStoppedEncodingResumesWithTheBytesOfAnUninterruptedOne() throws {
        let whole = try open("whole")
        encoded = 0
        XCTAssertThrowsError(try open("resumed", options: LatentCache.Options(shardItems: 3, batchSize: 2, stopAfterShards: 2))) {
            XCTAssertTrue("\($0)".contains("stopped after writing 2 shards"), "\($0)")
        }
        XCTAssertEqual(encoded, 6)
        let dir = root.appendingPathComponent("resumed")
        let stopped = try JSONDecoder().decode(LatentCacheManifest.self, from: Data(contentsOf: dir.appendingPathComponent("manifest.json")))
        XCTAssertEqual([stopped.shards.count, stopped.itemsDone], [2, 6])
        XCTAssertFalse(stopped.complete)
        // What a kill during the third shard leaves: a temporary file, or the shard renamed before the manifest listed it.
        try Data("partial".utf8).write(to: dir.appendingPathComponent(".shard-00002.safetensors.tmp-1-2"))
        try Data("stale".utf8).write(to: dir.appendingPathComponent("shard-00002.safetensors"))

        encoded = 0
        var lines: [String] = []
        let resumed = try open("resumed", options: LatentCache.Options(shardItems: 4, batchSize: 3), log: { lines.append($0) })
        XCTAssertEqual(encoded, 4, "only items 6..<10 are encoded again")
        XCTAssertTrue(lines.contains { $0.contains("resuming") && $0.contains("item 6") }, "\(lines)")
        XCTAssertEqual(resumed.manifest, whole.manifest, "the layout (shard items, batch size) it was started with")
        for k in 0..<4 {
            let name = String(format: "shard-%05d.safetensors", k)
            XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent(name)),
                           try Data(contentsOf: root.appendingPathComponent("whole/\(name)")), name)
        }
    }

    func testACacheMadeWithOtherSettingsIsRefusedUntilRebuilt() throws {
        _ = try open("c")
        func refused(_ what: String, _ body: () throws -> Void) {
            XCTAssertThrowsError(try body(), what) {
                let message = "\($0)"
                XCTAssertTrue(message.contains(what) && message.contains("--rebuild-latents") && message.contains("other settings"), message)
            }
        }
        refused("image preparation") { _ = try open("c", preparation: ImagePreparation(pad: 2, channels: 1)) }
        refused("dataset: 10 items in the cache, 9 now") { _ = try open("c", dataset: Pictures(count: 9)) }
        refused("other images") { _ = try open("c", dataset: Pictures(salt: 1)) }
        let original = try Data(contentsOf: vaeFolder.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        try Self.autoencoder(seed: 5).save(directory: vaeFolder)
        refused("autoencoder weights") { _ = try open("c") }
        try original.write(to: vaeFolder.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        vae.setLatentScaling(scalingFactor: 0.25, shiftFactor: nil)
        refused("latent scaling") { _ = try open("c") }
        XCTAssertEqual(encoded, 10, "a refused cache is neither read nor re-encoded")

        let rebuilt = try open("c", options: LatentCache.Options(shardItems: 4, batchSize: 2, rebuild: true))
        XCTAssertEqual(encoded, 20)
        XCTAssertEqual(rebuilt.manifest.shards.count, 3)
        XCTAssertEqual(rebuilt.manifest.settings.scalingFactor, 0.25)
        XCTAssertFalse(FileManager.default.fileExists(atPath: rebuilt.directory.appendingPathComponent("shard-00003.safetensors").path),
                       "the old cache's shards are gone")
    }

    func testUnreadableImagesAreReportedSkippedAndListed() throws {
        var lines: [String] = []
        let broken = Pictures(broken: [4, 6, 7, 8])   // shard 2 (items 6, 7, 8) is all unreadable
        let cache = try open("c", dataset: broken, log: { lines.append($0) })
        XCTAssertEqual(cache.count, 6)
        XCTAssertEqual(cache.datasetIndices, [0, 1, 2, 3, 5, 9])
        XCTAssertEqual(cache.skipped.map(\.index), [4, 6, 7, 8])
        XCTAssertEqual(cache.skipped.map(\.file), [4, 6, 7, 8].map { "/data/broken-\($0).png" })
        XCTAssertEqual(cache.manifest.shards.map(\.skipped), [[], [4], [6, 7, 8], []])
        XCTAssertTrue(lines.contains { $0.contains("/data/broken-4.png") && $0.contains("not a PNG") }, "\(lines)")
        XCTAssertTrue(lines.last!.contains("4 unreadable images skipped"), lines.last!)
        assertClose(try cache.rows([4, 5]).toArray(), try reference([5, 9]))
        // Labels of the surviving rows, as latte train builds them.
        XCTAssertEqual(try cache.datasetIndices.map { try broken.item(at: $0).label }, [0, 1, 0, 1, 1, 1])
        let reopened = try open("c", dataset: broken)
        XCTAssertEqual(reopened.datasetIndices, cache.datasetIndices)

        XCTAssertThrowsError(try open("none", dataset: Pictures(count: 2, broken: [0, 1]))) {
            XCTAssertTrue("\($0)".contains("no rows"), "\($0)")
        }
    }

    func testADamagedShardIsAnErrorNamingIt() throws {
        let cache = try open("c")
        let shard = cache.directory.appendingPathComponent("shard-00001.safetensors")
        let bytes = try Data(contentsOf: shard)
        try bytes.prefix(bytes.count - 9).write(to: shard)
        XCTAssertThrowsError(try open("c")) {
            XCTAssertTrue("\($0)".contains(shard.path) && "\($0)".contains("truncated"), "\($0)")
        }
        // Same size, but the header overwritten.
        var garbled = bytes
        garbled.replaceSubrange(8..<16, with: Data(repeating: 0x41, count: 8))
        try garbled.write(to: shard)
        XCTAssertThrowsError(try open("c")) {
            XCTAssertTrue("\($0)".contains(shard.path) && "\($0)".contains("--rebuild-latents"), "\($0)")
        }
        try FileManager.default.removeItem(at: shard)
        XCTAssertThrowsError(try open("c")) { XCTAssertTrue("\($0)".contains("\(shard.path) is missing"), "\($0)") }
        XCTAssertEqual(encoded, 10)
    }

    /// With flips each item is stored as it is and mirrored; training draws one per (seed, epoch, item).
    func testFlipsStoreBothVariantsAndTrainingDrawsOnePerEpoch() throws {
        let cache = try open("c", preparation: ImagePreparation(channels: 1, horizontalFlip: true))
        XCTAssertEqual(encoded, 20)
        XCTAssertEqual([cache.count, cache.variantCount, cache.manifest.variants], [10, 2, 2])
        assertClose(try cache.rows([3, 8]).toArray(), try reference([3, 8]))
        assertClose(try cache.rows([3, 8], variants: [1, 1]).toArray(), try reference([3, 8], mirrored: true))
        XCTAssertNotEqual(try reference([3]), try reference([3], mirrored: true))

        let items = Array(0..<10)
        let epoch0 = try cache.rows(items, seed: 7, epoch: 0).toArray()
        XCTAssertEqual(try cache.rows(items, seed: 7, epoch: 0).toArray(), epoch0, "the draw depends only on (seed, epoch, item)")
        let plain = try cache.rows(items).toArray(), flipped = try cache.rows(items, variants: [Int](repeating: 1, count: 10)).toArray()
        var picks: Set<Int> = []
        for epoch in 0..<4 {
            let got = try cache.rows(items, seed: 7, epoch: epoch).toArray()
            for i in items {
                let row = Array(got[(i * 32)..<((i + 1) * 32)])
                let variant = row == Array(plain[(i * 32)..<((i + 1) * 32)]) ? 0 : row == Array(flipped[(i * 32)..<((i + 1) * 32)]) ? 1 : -1
                XCTAssertNotEqual(variant, -1, "row \(i) is one of its two variants")
                picks.insert(variant)
            }
        }
        XCTAssertEqual(picks, [0, 1])
        XCTAssertThrowsError(try LatentTensor(Tensor.zeros([2, 2, 4, 4])).rows([0], variants: [1]))
    }
}
