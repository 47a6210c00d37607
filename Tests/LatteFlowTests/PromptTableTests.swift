import Foundation
import XCTest
import LatteFlow
import LatteModels
import LatteTensor

/// `PromptTable`: each distinct prompt prefilled once, exact f32 caches in memory, f16 caches in a file
/// that a resumed run reuses (or continues after a kill), refused when another backbone made it.
final class PromptTableTests: XCTestCase {
    let texts = ["a red square", "a blue circle", "a red square", "  a red square ", "green", "a small green star, shiny"]
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("latte-prompt-table-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    var file: URL { directory.appendingPathComponent("prompt-caches.f16") }

    func table(_ backbone: PromptBackbone, budget: Int, texts: [String]? = nil, name: String = "tiny") throws -> PromptTable {
        try PromptTable.prefill(texts: texts ?? self.texts, tokens: try TinyTextBackbone.tokens(), backbone: backbone, backboneName: name,
                                file: file, memoryBudget: budget) { _ in }
    }

    /// The backbone's own keys and values of one prompt, prefilled alone.
    func direct(_ text: String, _ model: LLaMAModel) throws -> (keys: [Tensor], values: [Tensor]) {
        let r = model.prefill(prompts: [try TinyTextBackbone.tokens().tokens(for: text)])
        return (r.keys, r.values)
    }

    func testInMemoryEachDistinctPromptIsPrefilledOnceAndExact() throws {
        let model = TinyTextBackbone.model()
        let backbone = CountingBackbone(model)
        let t = try table(backbone, budget: 1 << 30)
        XCTAssertTrue(t.isExact)
        XCTAssertEqual(t.count, 4, "four distinct prompts (surrounding spaces are trimmed by the tokens)")
        XCTAssertEqual(backbone.prefilled, 4)
        XCTAssertEqual(t.entry(for: "a red square"), t.entry(for: "  a red square "))
        XCTAssertNil(t.entry(for: "never given"))
        XCTAssertEqual(t.bytes, t.lengths.reduce(0, +) * 4 * 2 * 2 * 8 * 4, "tokens × layers × (K + V) × heads × head size × 4 bytes")
        XCTAssertFalse(FileManager.default.fileExists(atPath: file.path), "a table within the budget writes no file")
        for text in ["a blue circle", "a small green star, shiny"] {
            let cache = try t.caches([t.entry(for: text)!])[0]
            let d = try direct(text, model)
            XCTAssertEqual(cache.lengths, [d.keys[0].dim(2)])
            for l in 0..<4 {
                XCTAssertEqual(cache.keys[l].toArray(), d.keys[l].toArray(), "bit for bit: layer \(l)")
                XCTAssertEqual(cache.values[l].toArray(), d.values[l].toArray())
            }
        }
    }

    func testOverTheBudgetCachesGoToAnF16FileThatIsReusedAndContinued() throws {
        let model = TinyTextBackbone.model()
        let backbone = CountingBackbone(model)
        let t = try table(backbone, budget: 0)
        XCTAssertFalse(t.isExact)
        XCTAssertEqual(backbone.prefilled, 4)
        XCTAssertEqual(t.bytes, t.lengths.reduce(0, +) * 4 * 2 * 2 * 8 * 2, "f16: half the f32 bytes")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int, t.bytes)
        for text in texts {
            let cache = try t.caches([t.entry(for: text)!])[0]
            let d = try direct(text, model)
            for l in 0..<4 {
                XCTAssertEqual(cache.keys[l].shape, d.keys[l].shape)
                for (a, b) in zip(cache.keys[l].toArray() + cache.values[l].toArray(), d.keys[l].toArray() + d.values[l].toArray()) {
                    XCTAssertEqual(a, b, accuracy: abs(b) * 0x1p-11 + 1e-7, "f16 rounding only")
                }
            }
        }

        // A resumed run reuses the whole file: only the one prompt that checks the backbone is prefilled.
        let again = CountingBackbone(model)
        let reused = try table(again, budget: 0)
        XCTAssertEqual(again.prefilled, 1)
        let entry = t.entry(for: "a blue circle")!
        XCTAssertEqual(try reused.caches([entry])[0].values[3].toArray(), try t.caches([entry])[0].values[3].toArray())

        // A run killed mid-prefill left a partial last entry: it is cut and the missing entries prefilled.
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: UInt64(t.bytes - 100))
        try handle.close()
        let continued = CountingBackbone(model)
        let whole = try table(continued, budget: 0)
        XCTAssertEqual(continued.prefilled, 1 + 1, "the check, then the one cut entry")
        let last = t.lengths.count - 1
        XCTAssertEqual(try whole.caches([last])[0].keys[2].toArray(), try t.caches([last])[0].keys[2].toArray())

        // Other prompts: the file is started afresh.
        let other = CountingBackbone(model)
        _ = try table(other, budget: 0, texts: ["a blue circle", "yellow"])
        XCTAssertEqual(other.prefilled, 2)
    }

    func testAFileFromAnotherBackboneOfTheSameNameIsRefused() throws {
        _ = try table(TinyTextBackbone.model(seed: 3), budget: 0)
        XCTAssertThrowsError(try table(TinyTextBackbone.model(seed: 4), budget: 0)) { error in
            XCTAssertTrue("\(error)".contains("another backbone") && "\(error)".contains(self.file.path), "\(error)")
        }
        // Under another name it is simply prefilled again.
        XCTAssertNoThrow(try table(TinyTextBackbone.model(seed: 4), budget: 0, name: "other"))
    }

    func testAnOverlongOrUnknownPromptIsNamed() throws {
        let long = String(repeating: "a", count: 600)
        XCTAssertThrowsError(try table(TinyTextBackbone.model(), budget: 1 << 30, texts: ["fine", long])) {
            XCTAssertTrue("\($0)".contains("prompt \"aaaa") && "\($0)".contains("600 tokens"), "\($0)")
        }
    }
}
