import Foundation
import XCTest
import LatteTestSupport
import LatteFormats
@testable import LatteModels

/// The committed default autoencoder (`models/fashion-vae`) loads strictly and still reconstructs the
/// test images as its model card says (28.88 dB over all 10k; 29.17 dB over the first 500, measured by
/// `latte vae eval --limit 500`).
final class FashionVAEModelTests: XCTestCase {
    func testCommittedAutoencoderReconstructsTheTestImages() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appendingPathComponent("models/fashion-vae")
        let labels = try PinnedAssets.require("fashion-mnist")
        let vae = try AutoencoderKL.load(directory: folder)
        XCTAssertEqual(vae.configuration.latentChannels, 8)
        let test = try IDXDataset.fashionMNIST(directory: labels.deletingLastPathComponent().path, split: .test)
        let r = try VAEStatistics.reconstruction(vae, dataset: test, pad: 2, images: 500)
        XCTAssertEqual(r.images, 500)
        XCTAssertEqual(r.psnr_db, 29.17, accuracy: 0.05, "PSNR over the first 500 test images")
        let latents = try VAEStatistics.latentStatistics(vae, dataset: test, pad: 2, images: 200)
        XCTAssertEqual(latents.mean, vae.configuration.shiftFactor!, accuracy: 0.1)
        XCTAssertEqual(1 / latents.std, vae.configuration.scalingFactor, accuracy: 0.03)
    }
}
