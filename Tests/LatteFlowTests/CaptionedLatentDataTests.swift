import Foundation
import XCTest
import LatteFlow
import LatteTensor

final class CaptionedLatentDataTests: XCTestCase {
    /// 10 latents; row i has (i % 3) + 1 captions, entries of a table of 12 random prompt caches.
    let captions: [[Int]] = (0..<10).map { i in (0...(i % 3)).map { (i + 4 * $0) % 12 } }
    let table = PromptTable(caches: (0..<12).map { randomPrompt(tinyConfiguration(), length: 2 + $0 % 3, seed: UInt64($0)) })
    let latents: Tensor = {
        var g = RandomGenerator(seed: 1)
        return Tensor.normal([10, 2, 4, 4], generator: &g)
    }()

    func makeData(seed: UInt64 = 5, batchSize: Int = 4) throws -> CaptionedLatentData {
        try CaptionedLatentData(latents: try LatentTensor(latents), captions: captions, prompts: table, batchSize: batchSize, seed: seed)
    }

    /// The item behind each row of a batch, found by its latent (every latent is distinct).
    func items(_ batch: Tensor) -> [Int] {
        let all = latents.toArray(), size = 2 * 4 * 4
        return (0..<batch.dim(0)).map { r in
            let row = Array(batch.toArray()[(r * size)..<((r + 1) * size)])
            return (0..<10).first { Array(all[($0 * size)..<(($0 + 1) * size)]) == row }!
        }
    }

    func testEachRowDrawsOneOfItsOwnCaptionsAndEveryCaptionIsSeen() throws {
        var data = try makeData(batchSize: 5)
        var seen: [Int: Set<Int>] = [:]
        let byKey = try (0..<12).map { try table.caches([$0])[0].keys[0].toArray() }
        for epoch in 0..<24 {
            var epochItems: [Int] = []
            for _ in 0..<2 {
                let b = try data.next()
                let rows = items(b.latents)
                epochItems += rows
                for (item, prompt) in zip(rows, b.prompts) {
                    let entry = byKey.firstIndex(of: prompt.keys[0].toArray())!
                    XCTAssertTrue(captions[item].contains(entry), "row \(item) got entry \(entry), not one of its captions \(captions[item])")
                    seen[item, default: []].insert(entry)
                }
            }
            XCTAssertEqual(epochItems.sorted(), Array(0..<10), "epoch \(epoch) covers every item once")
        }
        for item in 0..<10 { XCTAssertEqual(seen[item], Set(captions[item]), "row \(item) is seen with each of its captions over the epochs") }
    }

    func testResumeReproducesTheStreamAndAMismatchIsRefused() throws {
        func describe(_ b: (latents: Tensor, prompts: [PromptCache])) -> [Float] { b.latents.toArray() + b.prompts.flatMap { $0.values[1].toArray() } }
        var data = try makeData()
        for _ in 0..<3 { _ = try data.next() }
        let saved = try data.savedState()
        let expected = try (0..<6).map { _ in describe(try data.next()) }
        var resumed = try makeData()
        try resumed.restore(saved)
        for e in expected { XCTAssertEqual(describe(try resumed.next()), e) }
        var otherSeed = try makeData(seed: 6)
        XCTAssertThrowsError(try otherSeed.restore(saved)) { XCTAssertTrue("\($0)".contains("seed 5 over 10 items"), "\($0)") }
        var fewer = try CaptionedLatentData(latents: try LatentTensor(latents.sliced(axis: 0, 0..<9)), captions: Array(captions.prefix(9)),
                                            prompts: table, batchSize: 4, seed: 5)
        XCTAssertThrowsError(try fewer.restore(saved)) { XCTAssertTrue("\($0)".contains("over 9"), "\($0)") }
    }

    /// Class phrases are captions shared by a class: the same rows, order and choices as `LabelledLatentData`.
    func testClassPhrasesAsCaptionsGiveTheLabelledStream() throws {
        let labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
        let phrases = [[0], [1, 2], [3, 4, 5]]
        var labelled = try LabelledLatentData(latents: try LatentTensor(latents), labels: labels, phrases: phrases, prompts: table,
                                              batchSize: 3, seed: 9)
        var captioned = try CaptionedLatentData(latents: try LatentTensor(latents), captions: labels.map { phrases[$0] }, prompts: table,
                                                batchSize: 3, seed: 9)
        for _ in 0..<8 {
            let a = try labelled.next(), b = try captioned.next()
            XCTAssertEqual(a.latents.toArray(), b.latents.toArray())
            XCTAssertEqual(a.prompts.map { $0.keys[2].toArray() }, b.prompts.map { $0.keys[2].toArray() })
        }
    }

    /// A flip-augmented cache (two variants per item): rows read the variant drawn per (seed, epoch, item),
    /// both over the epochs, exactly as the labelled stream reads them.
    func testFlipVariantsAreDrawnAsInTheLabelledStream() throws {
        struct TwoVariants: LatentRows {
            var count: Int { 6 }
            var itemShape: [Int] { [1, 1, 1] }
            var variantCount: Int { 2 }
            func rows(_ indices: [Int]) throws -> Tensor { try rows(indices, variants: indices.map { _ in 0 }) }
            func rows(_ indices: [Int], variants: [Int]) throws -> Tensor {
                Tensor(zip(indices, variants).map { Float(10 * $0 + $1) }, shape: [indices.count, 1, 1, 1])
            }
        }
        var captioned = try CaptionedLatentData(latents: TwoVariants(), captions: (0..<6).map { [$0, $0 + 6] }, prompts: table,
                                                batchSize: 3, seed: 9)
        var labelled = try LabelledLatentData(latents: TwoVariants(), labels: [Int](repeating: 0, count: 6), phrases: [[0]], prompts: table,
                                              batchSize: 3, seed: 9)
        var variants: [Int: Set<Int>] = [:]
        for _ in 0..<16 {
            let values = try captioned.next().latents.toArray()
            XCTAssertEqual(values, try labelled.next().latents.toArray())
            for v in values { variants[Int(v) / 10, default: []].insert(Int(v) % 10) }
        }
        XCTAssertTrue(variants.values.contains { $0 == [0, 1] }, "over 8 epochs an item is read both ways: \(variants)")
    }

    func testRowsWithoutCaptionsAndUnknownEntriesAreRefused() throws {
        let rows = try LatentTensor(latents.sliced(axis: 0, 0..<2))
        XCTAssertThrowsError(try CaptionedLatentData(latents: rows, captions: [[0], []], prompts: table, batchSize: 2, seed: 0)) {
            XCTAssertTrue("\($0)".contains("latent row 1 has no caption"), "\($0)")
        }
        XCTAssertThrowsError(try CaptionedLatentData(latents: rows, captions: [[0], [12]], prompts: table, batchSize: 2, seed: 0)) {
            XCTAssertTrue("\($0)".contains("entry 12"), "\($0)")
        }
        XCTAssertThrowsError(try CaptionedLatentData(latents: rows, captions: [[0]], prompts: table, batchSize: 2, seed: 0)) {
            XCTAssertTrue("\($0)".contains("2 latents and 1 caption lists"), "\($0)")
        }
        XCTAssertThrowsError(try CaptionedLatentData(latents: rows, captions: [["a"], ["b"]], prompts: table, batchSize: 2, seed: 0)) {
            XCTAssertTrue("\($0)".contains("caption \"a\" is not in the prompt table"), "\($0)")
        }
    }
}
