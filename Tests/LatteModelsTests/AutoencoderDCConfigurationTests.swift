import Foundation
import XCTest
@testable import LatteModels

final class AutoencoderDCConfigurationTests: XCTestCase {
    private func write(_ json: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dc-config-\(UUID().uuidString).json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testPerStageFieldsAndDefaults() throws {
        let url = try write("""
        {"_class_name": "AutoencoderDC", "latent_channels": 4, "attention_head_dim": 8, "encoder_block_types": ["ResBlock", "EfficientViTBlock"],
         "encoder_block_out_channels": [8, 16], "decoder_block_out_channels": [8, 16],
         "encoder_layers_per_block": [1, 1], "decoder_layers_per_block": [1, 1],
         "encoder_qkv_multiscales": [[], [5]], "decoder_qkv_multiscales": [[], [5]], "scaling_factor": 0.41}
        """)
        let c = try AutoencoderDCConfiguration.load(contentsOf: url)
        XCTAssertEqual(c.latentChannels, 4)
        XCTAssertEqual(c.encoderBlockTypes, .each(["ResBlock", "EfficientViTBlock"]))
        XCTAssertEqual(c.decoderBlockTypes, .all("ResBlock"))          // diffusers' default
        XCTAssertEqual(c.decoderNormTypes.expanded(2), ["rms_norm", "rms_norm"])
        XCTAssertEqual(c.scalingFactor, 0.41, accuracy: 1e-7)
    }

    func testContradictoryFieldsNameFileAndField() throws {
        let cases: [(String, String)] = [
            (#"{"encoder_block_out_channels": [8, 16], "encoder_layers_per_block": [1]}"#, "encoder_layers_per_block"),
            (#"{"decoder_block_types": ["ResBlock", "Transformer", "ResBlock", "ResBlock", "ResBlock", "ResBlock"]}"#, "Transformer"),
            (#"{"decoder_norm_types": ["rms_norm"]}"#, "decoder_norm_types"),
            (#"{"latent_channels": "four"}"#, "latent_channels"),
            (#"{"upsample_block_type": "deconv"}"#, "upsample_block_type"),
            // Architecture facts diffusers assumes without checking.
            (#"{"decoder_act_fns": "mish"}"#, "decoder_act_fns"),
            (#"{"decoder_norm_types": "layer_norm"}"#, "decoder_norm_types"),
            (#"{"decoder_conv_act_fn": "tanh"}"#, "decoder_conv_act_fn"),
            (#"{"latent_channels": 48}"#, "latent_channels"),
            (#"{"encoder_layers_per_block": [2, 0, 2, 3, 3, 3]}"#, "encoder_layers_per_block"),
            (#"{"encoder_block_out_channels": [8, 48, 512, 512, 1024, 1024]}"#, "encoder_block_out_channels"),
            (#"{"encoder_block_types": "EfficientViTBlock", "attention_head_dim": 256}"#, "attention_head_dim"),
            (#"{"decoder_block_types": "EfficientViTBlock", "decoder_qkv_multiscales": [[4], [], [], [], [], []]}"#, "decoder_qkv_multiscales"),
        ]
        for (json, field) in cases {
            let url = try write(json)
            XCTAssertThrowsError(try AutoencoderDCConfiguration.load(contentsOf: url), json) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(url.path) && text.contains(field), "\(json) → \(text)")
            }
        }
    }
}
