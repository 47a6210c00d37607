import Foundation
import XCTest
import LatteFlow
import LatteTensor

final class LabelledLatentDataTests: XCTestCase {
    func makeData(seed: UInt64 = 5) throws -> LabelledLatentData {
        let c = tinyConfiguration()
        var g = RandomGenerator(seed: 1)
        let latents = Tensor.normal([10, 2, 4, 4], generator: &g)
        let labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
        let phrases = (0..<3).map { k in (0..<(k + 1)).map { j in randomPrompt(c, length: 2 + j, seed: UInt64(10 * k + j)) } }
        return try LabelledLatentData(latents: latents, labels: labels, phrases: phrases, batchSize: 4, seed: seed)
    }

    /// Rows and prompts of a batch, as comparable values.
    func describe(_ b: (latents: Tensor, prompts: [PromptCache])) -> [Float] {
        b.latents.toArray() + b.prompts.flatMap { $0.keys[0].toArray() }
    }

    func testEpochsCoverEveryItemOnceAndResumeReproducesTheStream() throws {
        var data = try makeData()
        var seen: [Float] = []
        for _ in 0..<2 { seen += try data.next().latents.sliced(axis: 1, 0..<1).sliced(axis: 2, 0..<1).sliced(axis: 3, 0..<1).toArray() }
        XCTAssertEqual(Set(seen).count, 8, "two batches of an epoch never repeat an item")
        let saved = try data.savedState()
        let expected = try (0..<5).map { _ in describe(try data.next()) }   // crosses into epoch 1 (ragged tail dropped)

        var resumed = try makeData()
        try resumed.restore(saved)
        for e in expected { XCTAssertEqual(describe(try resumed.next()), e) }

        var otherSeed = try makeData(seed: 6)
        XCTAssertThrowsError(try otherSeed.restore(saved)) { XCTAssertTrue("\($0)".contains("seed"), "\($0)") }
    }

    /// Rows with two variants (a flip-augmented cache): each batch row is one of its item's variants,
    /// drawn per (seed, epoch, item), so both appear over epochs and a resumed stream reads the same ones.
    func testVariantsAreDrawnPerEpochAndItem() throws {
        struct TwoVariants: LatentRows {
            var count: Int { 6 }
            var itemShape: [Int] { [1, 1, 1] }
            var variantCount: Int { 2 }
            func rows(_ indices: [Int]) throws -> Tensor { try rows(indices, variants: indices.map { _ in 0 }) }
            func rows(_ indices: [Int], variants: [Int]) throws -> Tensor {
                Tensor(zip(indices, variants).map { Float(10 * $0 + $1) }, shape: [indices.count, 1, 1, 1])
            }
        }
        let c = tinyConfiguration()
        func make() throws -> LabelledLatentData {
            try LabelledLatentData(latents: TwoVariants(), labels: [Int](repeating: 0, count: 6),
                                   phrases: [[randomPrompt(c, length: 2, seed: 1)]], batchSize: 3, seed: 9)
        }
        var data = try make()
        var variants: [Int: Set<Int>] = [:]
        var saved = "", after: [[Float]] = []
        for step in 0..<16 {
            if step == 7 { saved = try data.savedState() }
            let values = try data.next().latents.toArray()
            if step >= 7 { after.append(values) }
            for v in values { variants[Int(v) / 10, default: []].insert(Int(v) % 10) }
        }
        XCTAssertEqual(variants.keys.sorted(), Array(0..<6))
        XCTAssertTrue(variants.values.contains { $0 == [0, 1] }, "over 8 epochs an item is read both ways: \(variants)")
        var resumed = try make()
        try resumed.restore(saved)
        for expected in after { XCTAssertEqual(try resumed.next().latents.toArray(), expected) }
    }

    func testLabelsWithoutPhrasesAreRefused() {
        let c = tinyConfiguration()
        XCTAssertThrowsError(try LabelledLatentData(latents: Tensor.zeros([2, 2, 4, 4]), labels: [0, 3],
                                                     phrases: [[randomPrompt(c, length: 2, seed: 1)]], batchSize: 2, seed: 0)) {
            XCTAssertTrue("\($0)".contains("label 3"), "\($0)")
        }
    }
}
