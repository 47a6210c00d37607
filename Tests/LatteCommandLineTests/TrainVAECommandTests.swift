import Foundation
import LatteFormats
import LatteModels
import XCTest

/// `latte train-vae` on colour data it has to prepare: a tiny class folder and the same images as a
/// JSONL caption file, RGBA of odd sizes with one corrupt file, trained a few steps as an RGB
/// autoencoder from flags alone (`--channels 3 --resolution 32`). The saved folder must load with three
/// channels, reconstruct a 32×32 RGB batch, and the corrupt file must have been skipped and counted.
final class TrainVAECommandTests: XCTestCase {
    func trainVAE(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try LatteExecutable.runMerged(["train-vae"] + arguments)
    }

    func testRGBFolderAndCaptionFileTrainAThreeChannelAutoencoder() throws {
        try LatteExecutable.require()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-train-vae-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var lines: [String] = []
        for (i, colour) in [[250, 20, 20], [20, 200, 40], [30, 60, 240], [240, 220, 30], [120, 40, 160], [20, 20, 20]].enumerated() {
            let folder = i % 2 == 0 ? "warm" : "cool"
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(folder), withIntermediateDirectories: true)
            // A coloured disc on a transparent square, of a size the preparation must resize.
            let side = 40 + 4 * i
            var image = Image(width: side, height: side, channels: 4, fill: [0, 0, 0, 0])
            for y in 0..<side { for x in 0..<side where (x - side / 2) * (x - side / 2) + (y - side / 2) * (y - side / 2) < side * side / 9 {
                for c in 0..<3 { image[x, y, c] = UInt8(colour[c]) }
                image[x, y, 3] = 255
            } }
            try PNG.write(image, to: dir.appendingPathComponent("\(folder)/\(i).png").path)
            lines.append("{\"image\": \"\(folder)/\(i).png\", \"caption\": \"disc \(i)\"}")
        }
        try Data("not a png".utf8).write(to: dir.appendingPathComponent("warm/broken.png"))
        lines.append("{\"image\": \"warm/broken.png\", \"caption\": \"broken\"}")
        let captions = dir.appendingPathComponent("discs.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: captions)

        for (name, data) in [("folder", dir.path), ("jsonl", captions.path)] {
            let output = dir.appendingPathComponent("vae-\(name)")
            let run = try trainVAE(["--data", data, "--channels", "3", "--resolution", "32", "--background", "white", "--flip",
                                    "--latent-channels", "4", "--steps", "3", "--batch", "2", "--warmup", "1", "--threads", "1",
                                    "--checkpoint-every", "10", "--dtype", "f32",
                                    "--run-dir", dir.appendingPathComponent("run-\(name)").path, "--output", output.path])
            XCTAssertEqual(run.status, 0, "\(name): \(run.output)")
            XCTAssertTrue(run.output.contains("broken.png"), "\(name): the skipped file is reported\n\(run.output)")
            XCTAssertTrue(run.output.contains("1 unreadable image skipped"), "\(name): the skip is counted\n\(run.output)")
            let model = try AutoencoderKL.load(directory: output)
            XCTAssertEqual(model.configuration.inChannels, 3, name)
            XCTAssertEqual(model.configuration.outChannels, 3, name)
            XCTAssertEqual(model.configuration.sampleSize, 32, name)
        }

        // Options that contradict each other are refused before any work.
        let clash = try trainVAE(["--data", dir.path, "--resolution", "32", "--pad", "2", "--steps", "1",
                                  "--run-dir", dir.appendingPathComponent("r").path, "--output", dir.appendingPathComponent("o").path])
        XCTAssertNotEqual(clash.status, 0)
        XCTAssertTrue(clash.output.contains("--pad"), clash.output)
        let channels = try trainVAE(["--data", dir.path, "--channels", "2", "--steps", "1",
                                     "--run-dir", dir.appendingPathComponent("r").path, "--output", dir.appendingPathComponent("o").path])
        XCTAssertNotEqual(channels.status, 0)
        XCTAssertTrue(channels.output.contains("--channels"), channels.output)
    }
}
