import ArgumentParser
import Foundation
import LatteKernels
import LatteModels
import LatteTensor

/// `latte bench vae`: AutoencoderKL encode and decode throughput (images/s, fp32, random weights) for
/// the small Fashion-MNIST autoencoder shape and an SD-VAE shape at 256×256, next to diffusers'
/// AutoencoderKL on the same configs (scripts/bench_vae_torch.py, same thread count) when Python has
/// diffusers. Ratios are ours / diffusers in images/s (> 1: LatteFlow is faster).
struct BenchVAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae", abstract: "Autoencoder encode/decode images/s against diffusers on the same configs.")

    @Option(help: "A diffusers AutoencoderKL config.json for the small case (default: the Fashion-MNIST shape).")
    var smallConfig: String?
    @Option(help: "Batch of the small case.") var smallBatch = 64
    @Option(help: "Image side of the small case.") var smallSize = 32
    @Option(help: "Image side of the SD-VAE case.") var sdSize = 256
    @Option(help: "Batch of the SD-VAE case.") var sdBatch = 1
    @Flag(help: "Measure only the small case.") var skipSd = false
    @Flag(help: "Skip the single-conv2d rows (the SD-VAE decoder's and the small model's main 3×3 convs).") var skipConv = false
    @Option(help: "Timed repetitions after one warm-up (the best is reported).") var repeats = 2
    @Option(help: "Threads (default: LATTE_THREADS or all cores); diffusers gets the same.") var threads: Int?
    @Option(help: "The reference script; skipped when absent or Python lacks diffusers.")
    var script = "scripts/bench_vae_torch.py"
    @Option(help: "Python interpreter for the reference.") var python = "python3"
    @Flag(help: "Do not run the diffusers reference.") var skipTorch = false
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        for (name, v) in [("--small-batch", smallBatch), ("--small-size", smallSize), ("--sd-size", sdSize),
                          ("--sd-batch", sdBatch), ("--repeats", repeats)] where v <= 0 {
            throw ValidationError("\(name) must be > 0, got \(v)")
        }
        if let threads, threads <= 0 { throw ValidationError("--threads must be > 0, got \(threads)") }
    }

    /// One measured shape: a config, its input size and batch.
    struct Case {
        let name: String
        let configuration: AutoencoderKLConfiguration
        let size: Int
        let batch: Int
    }

    /// The small default model's shape (docs/autoencoders.md): Fashion-MNIST padded to 32×32 → 8×8×4.
    static var fashionMNISTConfiguration: AutoencoderKLConfiguration {
        var c = AutoencoderKLConfiguration()
        c.in_channels = 1; c.out_channels = 1
        c.block_out_channels = [32, 64, 64]; c.layers_per_block = 1
        c.latent_channels = 4; c.norm_num_groups = 8; c.sample_size = 32
        return c
    }

    /// Stable Diffusion's VAE shape (runwayml/stable-diffusion-v1-5 vae/config.json).
    static var sdVAEConfiguration: AutoencoderKLConfiguration {
        var c = AutoencoderKLConfiguration()
        c.block_out_channels = [128, 256, 512, 512]; c.layers_per_block = 2
        c.latent_channels = 4; c.norm_num_groups = 32; c.sample_size = 256
        return c
    }

    /// 3×3, padding 1 convs (in = out channels, side, batch): the three that dominate the SD-VAE
    /// decoder's time, then the small model's two widest at its batch.
    static let convShapes = [(128, 256, 1), (256, 128, 1), (512, 64, 1), (32, 32, 64), (64, 16, 64)]

    static func convName(_ c: Int, _ size: Int, _ batch: Int) -> String { "conv3x3 \(c)→\(c) \(size)×\(size) batch \(batch)" }

    /// GFLOP/s of one 3×3 conv (2·Cin·Cout·9·H·W·N flops), forward only.
    private func measureConv(channels c: Int, size: Int, batch: Int) -> Double {
        var rng = RandomGenerator(seed: 11)
        let x = Tensor.normal([batch, c, size, size], generator: &rng)
        let w = Tensor.normal([c, c, 3, 3], std: 0.02, generator: &rng), b = Tensor.zeros([c])
        let t = withoutGradient { bestTime(repeats: repeats) { _ = Tensor.conv2d(x, weight: w, bias: b, padding: 1) } }
        return 2 * Double(c * c * 9 * size * size * batch) / t / 1e9
    }

    func cases() throws -> [Case] {
        var small = Self.fashionMNISTConfiguration
        if let smallConfig {
            let url = URL(fileURLWithPath: smallConfig)
            do { small = try JSONDecoder().decode(AutoencoderKLConfiguration.self, from: Data(contentsOf: url)) } catch {
                throw ValidationError("\(smallConfig): not a readable AutoencoderKL config.json (\(error))")
            }
        }
        var out = [Case(name: "small", configuration: small, size: smallSize, batch: smallBatch)]
        if !skipSd { out.append(Case(name: "sd-vae", configuration: Self.sdVAEConfiguration, size: sdSize, batch: sdBatch)) }
        for c in out {
            let problems = c.configuration.problems()
            guard problems.isEmpty else { throw ValidationError("\(c.name) config: " + problems.joined(separator: "; ")) }
            guard c.size % c.configuration.downsamplingFactor == 0 else {
                throw ValidationError("\(c.name): size \(c.size) is not a multiple of the downsampling factor \(c.configuration.downsamplingFactor)")
            }
        }
        return out
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let cases = try cases()
        var rows: [[String: Any]] = []
        for (i, c) in cases.enumerated() {
            let model = try AutoencoderKL(c.configuration, seed: UInt64(i + 1))
            var rng = RandomGenerator(seed: 5)
            let x = Tensor.normal([c.batch, c.configuration.in_channels, c.size, c.size], generator: &rng)
            var z = x
            let encode = withoutGradient { bestTime(repeats: repeats) { z = model.encode(x).mean } }
            let decode = withoutGradient { bestTime(repeats: repeats) { _ = model.decode(z) } }
            rows.append(["name": c.name, "size": c.size, "batch": c.batch,
                         "block_out_channels": c.configuration.block_out_channels,
                         "encode_images_per_second": Double(c.batch) / encode,
                         "decode_images_per_second": Double(c.batch) / decode])
        }
        var convRows: [[String: Any]] = []
        if !skipConv {
            for (c, size, batch) in Self.convShapes {
                convRows.append(["name": Self.convName(c, size, batch), "channels": c, "size": size, "batch": batch,
                                 "gflops": measureConv(channels: c, size: size, batch: batch)])
            }
        }
        let (reference, convReference, status) = skipTorch ? (nil, nil, "skipped (--skip-torch)") : try runReference(cases)
        if let convReference {
            for i in convRows.indices {
                guard let r = convReference.first(where: { ($0["name"] as? String) == (convRows[i]["name"] as? String) }),
                      let g = r["gflops"] as? Double else { continue }
                convRows[i]["torch_gflops"] = g
                convRows[i]["ratio"] = (convRows[i]["gflops"] as! Double) / g
            }
        }
        if let reference {
            for i in rows.indices {
                guard let r = reference.first(where: { ($0["name"] as? String) == (rows[i]["name"] as? String) }),
                      let te = r["encode_images_per_second"] as? Double, let td = r["decode_images_per_second"] as? Double else { continue }
                rows[i]["torch_encode_images_per_second"] = te
                rows[i]["torch_decode_images_per_second"] = td
                rows[i]["ratio_encode"] = (rows[i]["encode_images_per_second"] as! Double) / te
                rows[i]["ratio_decode"] = (rows[i]["decode_images_per_second"] as! Double) / td
            }
        }
        if json {
            let object: [String: Any] = ["threads": Parallel.threadCount, "repeats": repeats, "torch": status, "results": rows,
                                         "conv2d": convRows]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("AutoencoderKL fp32, random weights, \(Parallel.threadCount) threads, best of \(repeats); diffusers: \(status)")
        for r in rows {
            var line = String(format: "%-7@ %@ %d×%d batch %d: encode %.3g img/s, decode %.3g img/s",
                              r["name"] as! String, "\(r["block_out_channels"]!)", r["size"] as! Int, r["size"] as! Int,
                              r["batch"] as! Int, r["encode_images_per_second"] as! Double, r["decode_images_per_second"] as! Double)
            if let te = r["torch_encode_images_per_second"] as? Double, let td = r["torch_decode_images_per_second"] as? Double {
                line += String(format: " | diffusers encode %.3g, decode %.3g | ratio (ours / diffusers) encode %.2f×, decode %.2f×",
                               te, td, r["ratio_encode"] as! Double, r["ratio_decode"] as! Double)
            }
            print(line)
        }
        for r in convRows {
            var line = String(format: "%@: %.1f GFLOP/s", r["name"] as! String, r["gflops"] as! Double)
            if let g = r["torch_gflops"] as? Double {
                line += String(format: " | torch %.1f GFLOP/s | ratio %.2f×", g, r["ratio"] as! Double)
            }
            print(line)
        }
    }

    /// Runs the diffusers script on the same configs and thread count; nil and a reason when it cannot.
    private func runReference(_ cases: [Case]) throws -> ([[String: Any]]?, [[String: Any]]?, String) {
        guard FileManager.default.fileExists(atPath: script) else {
            return (nil, nil, "skipped (\(script) not found; run from the repository root)")
        }
        let encoder = JSONEncoder()
        var list: [[String: Any]] = []
        for c in cases {
            let config = try JSONSerialization.jsonObject(with: encoder.encode(c.configuration))
            list.append(["name": c.name, "config": config, "size": c.size, "batch": c.batch])
        }
        if !skipConv {
            for (c, size, batch) in Self.convShapes { list.append(["name": Self.convName(c, size, batch), "conv": [c, size, batch]]) }
        }
        let casesURL = FileManager.default.temporaryDirectory.appendingPathComponent("latte-bench-vae-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: list).write(to: casesURL)
        defer { try? FileManager.default.removeItem(at: casesURL) }

        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, script, "--cases", casesURL.path, "--threads", "\(Parallel.threadCount)", "--repeats", "\(repeats)"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return (nil, nil, "skipped (\(python) not runnable)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let results = object["results"] as? [[String: Any]] else {
            let reason = errText.split(separator: "\n").last.map(String.init) ?? "exit status \(p.terminationStatus)"
            return (nil, nil, "skipped (\(script) failed: \(reason))")
        }
        return (results, object["conv2d"] as? [[String: Any]], "measured (\(object["versions"] as? String ?? "diffusers"))")
    }
}
