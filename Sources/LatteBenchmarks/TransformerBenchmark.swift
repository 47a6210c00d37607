import Foundation
import LatteKernels
import LatteTensor

/// Forward and forward+backward time of a plain pre-norm transformer, the shape PyTorch is measured on
/// by scripts/bench_transformer.py (which runs `latte bench transformer --json` beside PyTorch eager
/// and prints ratios).
public struct TransformerBenchmark {
    public struct Options: Sendable {
        public var layers: Int
        public var hidden: Int
        public var heads: Int
        public var mlp: Int
        public var sequence: Int
        /// Timed repetitions (the best is reported).
        public var repeats: Int
        /// nil keeps LATTE_THREADS or all cores.
        public var threads: Int?

        public init(layers: Int = 12, hidden: Int = 768, heads: Int = 12, mlp: Int = 3072, sequence: Int = 256,
                    repeats: Int = 5, threads: Int? = nil) {
            self.layers = layers
            self.hidden = hidden
            self.heads = heads
            self.mlp = mlp
            self.sequence = sequence
            self.repeats = repeats
            self.threads = threads
        }
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    public func run() -> TransformerResult {
        let o = options
        if let threads = o.threads { Parallel.threadCount = threads }
        var rng = RandomGenerator(seed: 0)
        let model = PreNormTransformer(layers: o.layers, hidden: o.hidden, heads: o.heads, mlp: o.mlp, generator: &rng)
        let x = Tensor.normal([1, o.sequence, o.hidden], generator: &rng)

        let forward = bestTime(repeats: o.repeats) { _ = model.forward(x).sum().item() }
        let params = model.parameters.map { $0.requiringGradient() }
        let training = PreNormTransformer(parameters: params, heads: o.heads)
        let backward = bestTime(repeats: o.repeats) {
            let tape = GradientTape()
            let loss = tape.record { training.forward(x).pow(2).mean() }
            _ = tape.backward(from: loss)
        }
        return TransformerResult(options: o, threads: Parallel.threadCount, forwardSeconds: forward, forwardBackwardSeconds: backward)
    }
}

/// The best forward and forward+backward times of one `TransformerBenchmark` run.
public struct TransformerResult: Sendable {
    public let options: TransformerBenchmark.Options
    /// The thread count in effect.
    public let threads: Int
    public let forwardSeconds: Double
    public let forwardBackwardSeconds: Double

    /// One JSON object with sorted keys (scripts/bench_transformer.py reads it).
    public func json() throws -> String {
        let o = options
        return try sortedJSON([
            "layers": o.layers, "hidden": o.hidden, "heads": o.heads, "mlp": o.mlp, "sequence": o.sequence,
            "threads": threads, "forward_ms": forwardSeconds * 1000, "forward_backward_ms": forwardBackwardSeconds * 1000,
        ] as [String: Any])
    }

    public var table: String {
        let o = options
        return String(format: "transformer %d×(%d, %d heads, mlp %d), seq %d, %d threads: forward %.1f ms, forward+backward %.1f ms",
                      o.layers, o.hidden, o.heads, o.mlp, o.sequence, threads, forwardSeconds * 1000, forwardBackwardSeconds * 1000)
    }
}
