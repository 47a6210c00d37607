import Foundation
import LatteModels
import LatteTensor
import XCTest

/// The sampler's filters against distributions worked out by hand from the definitions.
final class LLaMASamplingTests: XCTestCase {
    func draw(_ logits: [Float], _ p: SamplingParameters, count: Int = 4000, history: [Int] = []) -> [Int: Int] {
        var sampler = TokenSampler(p)
        var counts: [Int: Int] = [:]
        logits.withUnsafeBufferPointer { buf in
            for _ in 0..<count { counts[sampler.sample(buf, history: history), default: 0] += 1 }
        }
        return counts
    }

    func testGreedyPicksTheArgmaxAndPenaltyCanMoveIt() {
        let logits: [Float] = [0.5, 3, 2.9, -1]
        XCTAssertEqual(draw(logits, .init(), count: 1), [1: 1])
        // Penalty 1.2 on id 1: 3 / 1.2 = 2.5 < 2.9.
        XCTAssertEqual(draw(logits, .init(repetitionPenalty: 1.2), count: 1, history: [1]), [2: 1])
    }

    func testTopKAndTopPAndMinPKeepOnlyTheirCandidates() {
        let logits: [Float] = [Foundation.log(0.5), Foundation.log(0.3), Foundation.log(0.15), Foundation.log(0.05)]
        XCTAssertEqual(Set(draw(logits, .init(temperature: 1, topK: 2, seed: 1)).keys), [0, 1])
        // Cumulative 0.5, 0.8 ≥ 0.75: ids 0 and 1 stay.
        XCTAssertEqual(Set(draw(logits, .init(temperature: 1, topP: 0.75, seed: 2)).keys), [0, 1])
        // min-p 0.25 × 0.5 = 0.125: id 3 (0.05) goes.
        XCTAssertEqual(Set(draw(logits, .init(temperature: 1, minP: 0.25, seed: 3)).keys), [0, 1, 2])
    }

    func testTemperatureOneFollowsTheSoftmax() {
        let probabilities: [Float] = [0.6, 0.3, 0.1]
        let counts = draw(probabilities.map { Foundation.log($0) }, .init(temperature: 1, seed: 7), count: 20000)
        for (i, p) in probabilities.enumerated() {
            XCTAssertEqual(Float(counts[i, default: 0]) / 20000, p, accuracy: 0.015, "id \(i)")
        }
    }

    func testSeedReproducesAndStopTokensEndGeneration() throws {
        let model = try LLaMAModel.load(from: LLaMAFixtures.folder("tiny-gqa-untied"))
        let sampling = SamplingParameters(temperature: 1.5, topK: 20, topP: 0.95, seed: 42)
        let a = try TokenGenerator(model: model, prompt: [3, 14, 15], parameters: .init(maxTokens: 20, sampling: sampling)).collect()
        let b = try TokenGenerator(model: model, prompt: [3, 14, 15], parameters: .init(maxTokens: 20, sampling: sampling)).collect()
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 20)
        var other = sampling
        other.seed = 43
        XCTAssertNotEqual(try TokenGenerator(model: model, prompt: [3, 14, 15], parameters: .init(maxTokens: 20, sampling: other)).collect(), a)
        // Stopping on the 6th token's id ends before it (its first occurrence).
        let stop = a[5]
        let first = a.firstIndex(of: stop)!
        let stopped = try TokenGenerator(model: model, prompt: [3, 14, 15],
                                         parameters: .init(maxTokens: 20, sampling: sampling, stopTokens: [stop])).collect()
        XCTAssertEqual(stopped, Array(a.prefix(first)))
    }
}
