import Foundation
import LatteFormats
import LatteModels
import LatteTestSupport
import XCTest

/// The committed RGB autoencoder (models/emoji-vae) on the emoji held-out split: the figure its card
/// states, and the per-image PSNR taken over all three channels of each image.
final class EmojiVAEModelTests: XCTestCase {
    func testHeldOutPSNRMatchesTheCardAndPerImagePSNRIsPerImage() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        _ = try PinnedAssets.require("emojione")
        _ = try PinnedAssets.require("twemoji")
        let vae = try AutoencoderKL.load(directory: root.appendingPathComponent("models/emoji-vae"))
        XCTAssertEqual(vae.configuration.inChannels, 3)
        let heldOut = try EmojiDataset.pinned(split: .test)
        let preparation = ImagePreparation(resolution: 32, channels: 3, background: .white)

        let all = try VAEStatistics.reconstruction(vae, dataset: heldOut, preparation: preparation)
        XCTAssertEqual(all.images, 558)
        XCTAssertEqual(all.psnr_db, 28.63, accuracy: 0.05, "the card's held-out PSNR")
        // The mean of per-image PSNRs differs from the pooled one (Jensen), but by a few dB, not by the
        // factor of three a per-channel sum divided by the image count would give.
        XCTAssertEqual(all.mean_image_psnr_db, all.psnr_db, accuracy: 5)

        // With one image the two definitions coincide.
        let one = try VAEStatistics.reconstruction(vae, dataset: heldOut, preparation: preparation, images: 1)
        XCTAssertEqual(one.images, 1)
        XCTAssertEqual(one.mean_image_psnr_db, one.psnr_db, accuracy: 1e-9)
    }
}
