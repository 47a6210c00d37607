import Foundation
import LatteNN
import LatteTensor
import XCTest
@testable import LatteModels

/// Image tokens in a frozen LLaMA (LLaVA style): the embedding path is the token path for text, image
/// rows replace exactly the placeholder positions, the projector's gradient flows back through the
/// frozen blocks, and pooling matches adaptive average pooling.
final class ImageTokenTests: XCTestCase {
    static func tinyModel(seed: UInt64 = 5) -> LLaMAModel {
        let m = LLaMAModel(configuration: LLaMAConfiguration(hiddenSize: 16, intermediateSize: 24, layerCount: 2, headCount: 4,
                                                             kvHeadCount: 2, headDim: 4, vocabularySize: 20, rmsNormEps: 1e-5, ropeTheta: 100))
        var g = RandomGenerator(seed: seed)
        for (_, p) in m.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.3, generator: &g)) }
        return m
    }

    /// The default generator reads a text prompt's keys and values through `prefill(prompts:)`; the
    /// vision path only adds an entry point, so those bits (and the token path's) must not move.
    func testTextPromptKeysAndHiddenStatesAreBitIdentical() {
        let lm = Self.tinyModel()
        let ids = [1, 7, 3, 9, 2]
        let tokens = Tensor(indices: ids, shape: [1, ids.count])
        let viaTokens = lm.hiddenStates(tokens).toArray()
        let viaEmbeddings = lm.hiddenStates(embeddings: lm.inputEmbeddings(tokens)).toArray()
        XCTAssertEqual(viaTokens.map(\.bitPattern), viaEmbeddings.map(\.bitPattern))
        let noImages = ImageTokenInsertion.embeddings(lm.inputEmbeddings(tokens), replacing: [], with: Tensor.zeros([1, 0, 16]))
        XCTAssertEqual(lm.hiddenStates(embeddings: noImages).toArray().map(\.bitPattern), viaTokens.map(\.bitPattern))

        // Keys and values of the prompt cache, twice, with a projector built in between.
        let before = lm.prefill(prompts: [ids])
        var g = RandomGenerator(seed: 1)
        _ = ImageTokenProjector(encoderChannels: 8, width: 16, generator: &g)
        let after = lm.prefill(prompts: [ids])
        for l in 0..<before.keys.count {
            XCTAssertEqual(before.keys[l].toArray().map(\.bitPattern), after.keys[l].toArray().map(\.bitPattern), "layer \(l) keys")
            XCTAssertEqual(before.values[l].toArray().map(\.bitPattern), after.values[l].toArray().map(\.bitPattern), "layer \(l) values")
        }
    }

    func testImageRowsReplaceExactlyThePlaceholders() {
        let lm = Self.tinyModel()
        let ids = [1, 19, 19, 4, 5]                        // 19: the placeholder
        let text = lm.inputEmbeddings(Tensor(indices: ids, shape: [1, 5]))
        var g = RandomGenerator(seed: 2)
        let images = Tensor.normal([1, 2, 16], generator: &g)
        let mixed = ImageTokenInsertion.embeddings(text, replacing: [1, 2], with: images)
        XCTAssertEqual(mixed.shape, [1, 5, 16])
        let (m, t, im) = (mixed.toArray(), text.toArray(), images.toArray())
        for p in 0..<5 {
            let row = Array(m[(p * 16)..<((p + 1) * 16)])
            let expected = p == 1 || p == 2 ? Array(im[((p - 1) * 16)..<(p * 16)]) : Array(t[(p * 16)..<((p + 1) * 16)])
            XCTAssertEqual(row, expected, "row \(p)")
        }
        // Causal: the hidden state before the first image token does not see the image.
        let h = lm.hiddenStates(embeddings: mixed).toArray(), plain = lm.hiddenStates(embeddings: text).toArray()
        XCTAssertEqual(Array(h[0..<16]), Array(plain[0..<16]))
        XCTAssertNotEqual(Array(h[(4 * 16)...]), Array(plain[(4 * 16)...]), "the last position must see the image")
    }

    /// Loss on the LM's output, gradient on the projector: backward through the frozen blocks (which get
    /// no update; only the projector is asked for) agrees with central differences.
    func testProjectorGradientThroughFrozenLMMatchesFiniteDifferences() throws {
        let lm = Self.tinyModel()
        var g = RandomGenerator(seed: 4)
        let projector = ImageTokenProjector(encoderChannels: 6, width: 16, generator: &g)
        let features = Tensor.normal([1, 2, 6], generator: &g)
        let text = withoutGradient { lm.inputEmbeddings(Tensor(indices: [3, 0, 0, 8, 2], shape: [1, 5])) }
        let r = Tensor.normal([1, 5, 16], generator: &g)
        func forward() -> Tensor {
            (lm.hiddenStates(embeddings: ImageTokenInsertion.embeddings(text, replacing: [1, 2], with: projector(features))) * r).sum()
        }
        let tape = GradientTape()
        let value = tape.record { forward() }
        let grads = tape.backward(from: value)
        for (name, p) in projector.namedParameters() {
            let analytic = try XCTUnwrap(grads[ObjectIdentifier(p.slot)], "no gradient for \(name)").toArray()
            let original = p.value
            for index in [0, original.count / 2, original.count - 1] {
                var values = original.toArray()
                let eps: Float = 1e-2
                values[index] += eps
                p.assign(Tensor(values, shape: original.shape))
                let plus = withoutGradient { forward().item() }
                values[index] -= 2 * eps
                p.assign(Tensor(values, shape: original.shape))
                let minus = withoutGradient { forward().item() }
                p.assign(original)
                let numeric = (plus - minus) / (2 * eps)
                XCTAssertEqual(analytic[index], numeric, accuracy: 2e-2 * max(1, abs(numeric)), "\(name)[\(index)]")
            }
        }
    }

    func testPoolTokensIsAdaptiveAveragePooling() {
        // One image, one channel, 3×3 values 0…8 pooled to 2×2: torch's cells are rows/cols {0,1} and {1,2}.
        let map = Tensor((0..<9).map(Float.init), shape: [1, 1, 3, 3])
        let pooled = ImageTokenProjector.poolTokens(map, grid: 2)
        XCTAssertEqual(pooled.shape, [1, 4, 1])
        XCTAssertEqual(pooled.toArray(), [2, 3, 5, 6])
        XCTAssertEqual(ImageTokenProjector.poolTokens(map, grid: 1).toArray(), [4])
    }
}
