import Foundation
import LatteModels
import LatteTensor
import XCTest

final class LLaMAConfigurationTests: XCTestCase {
    func decode(_ json: String) throws -> LLaMAConfiguration {
        try JSONDecoder().decode(LLaMAConfiguration.self, from: Data(json.utf8))
    }

    let minimal = #"{"hidden_size": 64, "intermediate_size": 90, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 50"#

    func testAbsentKeysTakeTransformersDefaults() throws {
        let c = try decode(minimal + "}")
        XCTAssertEqual(c.kvHeadCount, 4)
        XCTAssertEqual(c.headDim, 16)
        XCTAssertEqual(c.rmsNormEps, 1e-6)
        XCTAssertEqual(c.ropeTheta, 10000)
        XCTAssertFalse(c.tieWordEmbeddings)
        XCTAssertNil(c.ropeScaling)
    }

    func testTransformers4RopeKeysAndRoundTrip() throws {
        let c = try decode(minimal + #", "rope_theta": 500000, "rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 8192}, "tie_word_embeddings": true}"#)
        XCTAssertEqual(c.ropeTheta, 500_000)
        XCTAssertEqual(c.ropeScaling, .init(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositionEmbeddings: 8192))
        XCTAssertEqual(try JSONDecoder().decode(LLaMAConfiguration.self, from: JSONEncoder().encode(c)), c)
        // Llama-3 scaling: the highest frequency (short wavelength) is kept, the lowest divided by the factor.
        let plain = Rotary.inverseFrequencies(headDim: 16, theta: 500_000)
        XCTAssertEqual(c.inverseFrequencies.first, plain.first)
        XCTAssertEqual(c.inverseFrequencies.last!, plain.last! / 8, accuracy: 1e-12)
    }

    func testUnsupportedFeaturesAreRefused() {
        XCTAssertThrowsError(try decode(minimal + #", "rope_scaling": {"type": "dynamic", "factor": 2}}"#)) {
            XCTAssertTrue("\($0)".contains("dynamic"), "\($0)")
        }
        XCTAssertThrowsError(try decode(minimal + #", "attention_bias": true}"#))
        XCTAssertThrowsError(try decode(minimal + #", "hidden_act": "gelu"}"#))
        XCTAssertThrowsError(try decode(#"{"hidden_size": 64}"#))
    }
}
