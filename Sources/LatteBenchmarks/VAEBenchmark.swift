import Foundation
import LatteKernels
import LatteModels
import LatteTensor

/// AutoencoderKL encode and decode throughput (images/s, fp32, random weights) for the small
/// Fashion-MNIST autoencoder shape and an SD-VAE shape at 256×256, plus the 3×3 convs that dominate
/// them, next to diffusers' AutoencoderKL on the same configs (scripts/bench_vae_torch.py, same thread
/// count) when Python has diffusers. Ratios are ours / diffusers in images/s (> 1: LatteFlow is faster).
public struct VAEBenchmark {
    public struct Options: Sendable {
        /// The small case's config (default: the Fashion-MNIST shape).
        public var smallConfiguration: AutoencoderKLConfiguration
        public var smallBatch: Int
        public var smallSize: Int
        public var sdSize: Int
        public var sdBatch: Int
        /// Measure only the small case.
        public var skipSD: Bool
        /// Skip the single-conv2d rows.
        public var skipConv: Bool
        /// Timed repetitions after one warm-up (the best is reported).
        public var repeats: Int
        /// nil keeps LATTE_THREADS or all cores; diffusers gets the same.
        public var threads: Int?
        /// The reference script; skipped when absent or Python lacks diffusers.
        public var script: String
        public var python: String
        /// Do not run the diffusers reference.
        public var skipTorch: Bool

        public init(smallConfiguration: AutoencoderKLConfiguration = VAEBenchmark.fashionMNISTConfiguration,
                    smallBatch: Int = 64, smallSize: Int = 32, sdSize: Int = 256, sdBatch: Int = 1, skipSD: Bool = false,
                    skipConv: Bool = false, repeats: Int = 2, threads: Int? = nil, script: String = "scripts/bench_vae_torch.py",
                    python: String = "python3", skipTorch: Bool = false) {
            self.smallConfiguration = smallConfiguration
            self.smallBatch = smallBatch
            self.smallSize = smallSize
            self.sdSize = sdSize
            self.sdBatch = sdBatch
            self.skipSD = skipSD
            self.skipConv = skipConv
            self.repeats = repeats
            self.threads = threads
            self.script = script
            self.python = python
            self.skipTorch = skipTorch
        }

        public func validate() throws {
            for (name, v) in [("--small-batch", smallBatch), ("--small-size", smallSize), ("--sd-size", sdSize),
                              ("--sd-batch", sdBatch), ("--repeats", repeats)] where v <= 0 {
                throw BenchmarkOptionError("\(name) must be > 0, got \(v)")
            }
            if let threads, threads <= 0 { throw BenchmarkOptionError("--threads must be > 0, got \(threads)") }
        }
    }

    /// One measured shape: a config, its input size and batch.
    struct Case {
        let name: String
        let configuration: AutoencoderKLConfiguration
        let size: Int
        let batch: Int
    }

    /// The small default model's shape (docs/autoencoders.md): Fashion-MNIST padded to 32×32 → 8×8×4.
    public static var fashionMNISTConfiguration: AutoencoderKLConfiguration {
        var c = AutoencoderKLConfiguration()
        c.inChannels = 1; c.outChannels = 1
        c.blockOutChannels = [32, 64, 64]; c.layersPerBlock = 1
        c.latentChannels = 4; c.normNumGroups = 8; c.sampleSize = 32
        return c
    }

    /// Stable Diffusion's VAE shape (runwayml/stable-diffusion-v1-5 vae/config.json).
    public static var sdVAEConfiguration: AutoencoderKLConfiguration {
        var c = AutoencoderKLConfiguration()
        c.blockOutChannels = [128, 256, 512, 512]; c.layersPerBlock = 2
        c.latentChannels = 4; c.normNumGroups = 32; c.sampleSize = 256
        return c
    }

    /// A diffusers AutoencoderKL config.json for the small case.
    public static func configuration(contentsOf path: String) throws -> AutoencoderKLConfiguration {
        do { return try JSONDecoder().decode(AutoencoderKLConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw BenchmarkOptionError("\(path): not a readable AutoencoderKL config.json (\(error))")
        }
    }

    /// 3×3, padding 1 convs (in = out channels, side, batch): the three that dominate the SD-VAE
    /// decoder's time, then the small model's two widest at its batch.
    static let convShapes = [(128, 256, 1), (256, 128, 1), (512, 64, 1), (32, 32, 64), (64, 16, 64)]

    /// The conv row's name, which is also how the reference script's row is matched to ours.
    static func convName(_ c: Int, _ size: Int, _ batch: Int) -> String { "conv3x3 \(c)→\(c) \(size)×\(size) batch \(batch)" }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    /// The small case and, unless skipped, the SD-VAE case, each checked against its config.
    func cases() throws -> [Case] {
        var out = [Case(name: "small", configuration: options.smallConfiguration, size: options.smallSize, batch: options.smallBatch)]
        if !options.skipSD {
            out.append(Case(name: "sd-vae", configuration: Self.sdVAEConfiguration, size: options.sdSize, batch: options.sdBatch))
        }
        for c in out {
            let problems = c.configuration.problems()
            guard problems.isEmpty else { throw BenchmarkOptionError("\(c.name) config: " + problems.joined(separator: "; ")) }
            guard c.size % c.configuration.downsamplingFactor == 0 else {
                throw BenchmarkOptionError("\(c.name): size \(c.size) is not a multiple of the downsampling factor \(c.configuration.downsamplingFactor)")
            }
        }
        return out
    }

    public func run() throws -> VAEResult {
        if let threads = options.threads { Parallel.threadCount = threads }
        let cases = try cases()
        var rows: [AutoencoderThroughputRow] = []
        for (i, c) in cases.enumerated() {
            let model = try AutoencoderKL(c.configuration, seed: UInt64(i + 1))
            var rng = RandomGenerator(seed: 5)
            let x = Tensor.normal([c.batch, c.configuration.inChannels, c.size, c.size], generator: &rng)
            var z = x
            let encode = withoutGradient { bestTime(repeats: options.repeats) { z = model.encode(x).mean } }
            let decode = withoutGradient { bestTime(repeats: options.repeats) { _ = model.decode(z) } }
            rows.append(AutoencoderThroughputRow(name: c.name, size: c.size, batch: c.batch,
                                                 blockOutChannels: c.configuration.blockOutChannels,
                                                 encodeImagesPerSecond: Double(c.batch) / encode,
                                                 decodeImagesPerSecond: Double(c.batch) / decode))
        }
        var convRows: [ConvThroughputRow] = []
        if !options.skipConv {
            for (c, size, batch) in Self.convShapes {
                convRows.append(ConvThroughputRow(name: Self.convName(c, size, batch), channels: c, size: size, batch: batch,
                                                  gflops: measureConv(channels: c, size: size, batch: batch)))
            }
        }
        let reference = options.skipTorch ? DiffusersReference(status: "skipped (--skip-torch)") : try runReference(cases)
        for i in convRows.indices {
            guard let r = reference.conv2d.first(where: { ($0["name"] as? String) == convRows[i].name }),
                  let g = r["gflops"] as? Double else { continue }
            convRows[i].torchGFLOPS = g
        }
        for i in rows.indices {
            guard let r = reference.results.first(where: { ($0["name"] as? String) == rows[i].name }),
                  let te = r["encode_images_per_second"] as? Double, let td = r["decode_images_per_second"] as? Double else { continue }
            rows[i].torch = .init(encodeImagesPerSecond: te, decodeImagesPerSecond: td)
        }
        return VAEResult(threads: Parallel.threadCount, repeats: options.repeats, torchStatus: reference.status,
                         autoencoders: rows, convs: convRows)
    }

    /// GFLOP/s of one 3×3 conv (2·Cin·Cout·9·H·W·N flops), forward only.
    private func measureConv(channels c: Int, size: Int, batch: Int) -> Double {
        var rng = RandomGenerator(seed: 11)
        let x = Tensor.normal([batch, c, size, size], generator: &rng)
        let w = Tensor.normal([c, c, 3, 3], std: 0.02, generator: &rng), b = Tensor.zeros([c])
        let t = withoutGradient { bestTime(repeats: options.repeats) { _ = Tensor.conv2d(x, weight: w, bias: b, padding: 1) } }
        return 2 * Double(c * c * 9 * size * size * batch) / t / 1e9
    }
}
