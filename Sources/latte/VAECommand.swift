import ArgumentParser
import Foundation
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte vae reconstruct` and `latte vae eval` for a trained AutoencoderKL folder.
struct VAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae", abstract: "Inspect a trained autoencoder: reconstruction sheets and PSNR.",
        subcommands: [Reconstruct.self, Eval.self])

    struct Common: ParsableArguments {
        @Option(help: "An AutoencoderKL folder (config.json + diffusion_pytorch_model.safetensors).") var model = "models/fashion-vae"
        @Option(help: "'fashion-mnist', 'emoji', a .jsonl caption file or a folder of images in class sub-folders.") var data = "fashion-mnist"
        @Option(help: "Split of fashion-mnist or emoji: train or test (held out).") var split = "test"
        @Option(help: "Zero padding around each image when there is no --resolution (default 2: the model was trained on 28 + 2·2 = 32 pixels).") var pad: Int?
        @Option(help: "Resize (shorter side) and centre-crop images to N×N, as the model was trained (train-vae --resolution).") var resolution: Int?
        @Option(help: "Colour transparent pixels are flattened onto: white, black or RRGGBB.") var background = "white"
        @Option(help: "Threads (default: all cores).") var threads: Int?

        func load() throws -> (AutoencoderKL, any Dataset) {
            if let threads { Parallel.threadCount = threads }
            guard let s = IDXDataset.Split(rawValue: split) else { throw ValidationError("--split must be train or test, got \(split)") }
            let model = try AutoencoderKL.load(directory: URL(fileURLWithPath: model))
            return (model, try ImageDataSource.dataset(data, split: s))
        }

        /// The images as the model was trained on them (channels from the model).
        func preparation(_ model: AutoencoderKL) throws -> ImagePreparation {
            if resolution != nil && pad != nil { throw ValidationError("--pad borders images of their own size; with --resolution they are resized and cropped instead: give one") }
            let colour: BackgroundColour
            do { colour = try BackgroundColour(parsing: background) } catch { throw ValidationError("--background: \(error)") }
            let p = ImagePreparation(resolution: resolution, pad: resolution == nil ? (pad ?? 2) : 0,
                                     channels: model.configuration.inChannels, background: colour)
            do { try p.validate() } catch let error as DatasetError { throw ValidationError(error.message) }
            return p
        }
    }

    struct Reconstruct: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a sheet: rows of inputs above their reconstructions.")
        @OptionGroup var common: Common
        @Option(help: "Images on the sheet.") var count = 32
        @Option(help: "Images per row.") var columns = 16
        @Option(help: "Upscale factor for viewing.") var scale = 2
        @Option(help: "Output PNG.") var output = "reconstructions.png"
        @Option(help: "Instead of a sheet, write the first --count reconstructions (padding cropped off) as PNGs into this folder, e.g. for `latte fid --fake DIR`.")
        var imagesTo: String?

        func run() throws {
            let (model, dataset) = try common.load()
            let preparation = try common.preparation(model)
            if let imagesTo { return try writeFolder(model, dataset, preparation: preparation, to: URL(fileURLWithPath: imagesTo)) }
            let loader = try DataLoader(dataset: dataset, options: preparation.loaderOptions(batchSize: min(count, dataset.count), shuffle: false, seed: 0))
            let b = try loader.next()
            let x = Tensor(b.pixels, shape: [b.count, b.channels, b.height, b.width])
            try model.validateImages(x)
            let y = withoutGradient { model.reconstruct(x) }
            let inputs = ImageTensors.images(x, scale: scale), outputs = ImageTensors.images(y, scale: scale)
            var tiles: [Image] = []
            for start in stride(from: 0, to: inputs.count, by: columns) {
                let end = min(start + columns, inputs.count)
                tiles += inputs[start..<end] + Array(repeating: ImageTensors.blank(like: inputs[0]), count: columns - (end - start))
                tiles += outputs[start..<end] + Array(repeating: ImageTensors.blank(like: inputs[0]), count: columns - (end - start))
            }
            try ImageGrid.write(tiles, columns: columns, to: output)
            print("wrote \(output): \(inputs.count) inputs (odd rows) and their reconstructions (even rows)")
        }

        /// The autoencoder's share of a generator's FID: reconstructions of real images measured like
        /// generated ones (same crop, same 8-bit PNGs) show the best FID any generator in its latent space can reach.
        func writeFolder(_ model: AutoencoderKL, _ dataset: any Dataset, preparation: ImagePreparation, to folder: URL) throws {
            let total = min(count, dataset.count), batch = 64, pad = preparation.pad
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let loader = try DataLoader(dataset: dataset, options: preparation.loaderOptions(batchSize: batch, shuffle: false, seed: 0))
            var progress = TrainingProgress(total: total, label: "reconstructing")
            var written = 0
            while written < total {
                let b = try loader.next()
                let x = Tensor(b.pixels, shape: [b.count, b.channels, b.height, b.width])
                try model.validateImages(x)
                var y = withoutGradient { model.reconstruct(x) }
                if pad > 0 { y = y.sliced(axis: 2, pad..<(y.dim(2) - pad)).sliced(axis: 3, pad..<(y.dim(3) - pad)).contiguous() }
                for image in ImageTensors.images(y).prefix(total - written) {
                    try PNG.write(image, to: folder.appendingPathComponent(String(format: "%05d.png", written)).path)
                    written += 1
                }
                progress.update(step: written, fields: [])
            }
            print("wrote \(written) reconstructions (\(common.split) split) to \(folder.path)")
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reconstruction PSNR over a whole split, and latent statistics.")
        @OptionGroup var common: Common
        @Option(help: "Only the first N images.") var limit: Int?
        @Flag(help: "Print one JSON object.") var json = false

        func run() throws {
            let (model, dataset) = try common.load()
            let preparation = try common.preparation(model)
            var progress = TrainingProgress(total: min(limit ?? dataset.count, dataset.count), label: "vae eval")
            let r = try VAEStatistics.reconstruction(model, dataset: dataset, preparation: preparation, images: limit) { progress.update(step: $0, fields: []) }
            let latents = try VAEStatistics.latentStatistics(model, dataset: dataset, preparation: preparation, images: min(r.images, 2000))
            if json {
                let object: [String: Any] = ["psnr_db": r.psnr_db, "mean_image_psnr_db": r.mean_image_psnr_db, "mse": r.mse, "images": r.images,
                                             "seconds": r.seconds, "latent_mean": latents.mean, "latent_std": latents.std,
                                             "scaling_factor": model.configuration.scalingFactor, "shift_factor": model.configuration.shiftFactor ?? 0]
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(String(format: "PSNR %.2f dB (mean per image %.2f dB, MSE %.6f) over %d images in %.1f s", r.psnr_db, r.mean_image_psnr_db, r.mse, r.images, r.seconds))
                print("latent mean \(latents.mean), std \(latents.std) over \(latents.images) images; config scaling_factor \(model.configuration.scalingFactor), shift_factor \(model.configuration.shiftFactor.map { "\($0)" } ?? "none")")
            }
        }
    }
}
