import Foundation
import LatteKernels
import LatteModels
import LatteTensor

/// Seconds per image of a randomly initialised Qwen2-VL vision tower (2B: 32 blocks, width 1280, 16 heads,
/// patch 14, merge 2) at square image sizes: patch embedding, every block with its full attention over
/// the image's patches, and the merger. Random pixel values: speed does not depend on the picture.
public struct VisionTowerBenchmark {
    public struct Options {
        /// Square image sides in pixels; each a multiple of patch × merge (28).
        public var sizes = [448, 896]
        public var threadCounts = [1]
        /// Timed repetitions per size (the best counts).
        public var repeats = 1
        /// bf16 weights (as the checkpoint keeps them) instead of f32.
        public var bf16 = false
        /// The tiny tower (1 block, width 64) instead of the 2B one: the same code paths, for tests.
        public var tiny = false
        public init() {}

        func validate(patch: Int, merge: Int) throws {
            guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 && $0 % (patch * merge) == 0 }) else {
                throw BenchmarkOptionError("image sizes must be positive multiples of \(patch * merge) (patch \(patch) × merge \(merge)), got \(sizes)")
            }
            guard repeats > 0, !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 > 0 }) else {
                throw BenchmarkOptionError("repeats and thread counts must be positive")
            }
        }
    }

    public struct Row {
        public let size: Int, threads: Int, patches: Int
        public let seconds: Double, cpuSeconds: Double
        /// Multiply-adds × 2 of the matrices and attention, per second.
        public let gflops: Double
    }

    public struct Result {
        public let options: Options
        public let depth: Int, width: Int
        public let buildSeconds: Double
        public let rows: [Row]
        public let peakResidentMegabytes: Double?
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    public func run() throws -> Result {
        let o = options
        let c = PaperSampleBenchmark.backboneConfiguration(tiny: o.tiny).vision
        try o.validate(patch: c.patchSize, merge: c.spatialMergeSize)
        let start = DispatchTime.now().uptimeNanoseconds
        let tower = RandomQwen2VL.visionTower(tiny: o.tiny, bf16: o.bf16)
        let buildSeconds = LanguageModelBenchmark.seconds(since: start)
        var rows: [Row] = []
        for size in o.sizes {
            let side = size / c.patchSize
            let grid = Qwen2VLImageGrid(t: 1, h: side, w: side)
            let input = Qwen2VLVisionInput(pixelValues: Tensor.randomNormal([grid.patchCount, c.patchValues], seed: UInt64(size)),
                                           grids: [grid])
            for t in o.threadCounts {
                Parallel.threadCount = t
                var best = Double.infinity, bestCPU = Double.infinity
                for _ in 0..<o.repeats {
                    let s = DispatchTime.now().uptimeNanoseconds, cpu = LanguageModelBenchmark.processCPUSeconds()
                    let features = try withoutGradient { try tower(input) }
                    precondition(features.shape == [grid.mergedTokenCount(mergeSize: c.spatialMergeSize), c.hiddenSize])
                    best = min(best, LanguageModelBenchmark.seconds(since: s))
                    bestCPU = min(bestCPU, LanguageModelBenchmark.processCPUSeconds() - cpu)
                }
                rows.append(Row(size: size, threads: t, patches: grid.patchCount, seconds: best, cpuSeconds: bestCPU,
                                gflops: Self.flops(c, patches: grid.patchCount) / best / 1e9))
            }
        }
        return Result(options: o, depth: c.depth, width: c.embedDim, buildSeconds: buildSeconds, rows: rows,
                      peakResidentMegabytes: LanguageModelBenchmark.peakResidentMegabytes())
    }

    /// 2 × multiply-adds of one image of n patches: patch embedding, per block qkv/proj/fc1/fc2 and the
    /// attention's two n × n products, and the merger's two layers on n/merge² rows.
    static func flops(_ c: Qwen2VLVisionConfiguration, patches n: Int) -> Double {
        let e = Double(c.embedDim), p = Double(n), mlp = Double(c.mlpHiddenSize)
        let block = p * (4 * e * e + 2 * e * mlp) + 2 * p * p * e
        let m = Double(c.spatialMergeSize * c.spatialMergeSize), merged = e * m
        let merger = p / m * (merged * merged + merged * Double(c.hiddenSize))
        return 2 * (p * e * Double(c.patchValues) + Double(c.depth) * block + merger)
    }
}

extension VisionTowerBenchmark.Result {
    public var table: String {
        let o = options
        var lines = [String(format: "Qwen2-VL vision tower (random, %d blocks, width %d, %@ weights), built in %.1f s",
                            depth, width, o.bf16 ? "bf16" : "f32", buildSeconds)]
        for r in rows {
            lines.append(String(format: "%d² (%d patches), threads %d: %.3f s per image (%.3f CPU s), %.1f GFLOP/s",
                                r.size, r.patches, r.threads, r.seconds, r.cpuSeconds, r.gflops))
        }
        lines.append(peakResidentMegabytes.map { String(format: "peak resident memory %.0f MB", $0) } ?? "peak resident memory unknown")
        return lines.joined(separator: "\n")
    }

    public func json() throws -> String {
        let object: [String: Any] = [
            "depth": depth, "width": width, "weights": options.bf16 ? "bf16" : "f32", "build_seconds": buildSeconds,
            "peak_resident_mb": peakResidentMegabytes as Any,
            "results": rows.map { ["size": $0.size, "threads": $0.threads, "patches": $0.patches, "seconds": $0.seconds,
                                   "cpu_seconds": $0.cpuSeconds, "gflops": $0.gflops] as [String: Any] }]
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
