import ArgumentParser
import Foundation
import LatteKernels
import LatteTensor

/// Forward and forward+backward time of a plain pre-norm transformer, the shape PyTorch is measured on
/// by scripts/bench_transformer.py (which runs this command beside PyTorch eager and prints ratios).
struct BenchTransformerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transformer", abstract: "Pre-norm transformer forward and forward+backward time (fp32).")

    @Option(help: "Layers.") var layers = 12
    @Option(help: "Hidden width.") var hidden = 768
    @Option(help: "Attention heads.") var heads = 12
    @Option(help: "MLP width.") var mlp = 3072
    @Option(help: "Sequence length.") var sequence = 256
    @Option(help: "Timed repetitions (the best is reported).") var repeats = 5
    @Option(help: "Threads (default: LATTE_THREADS or all cores).") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        var rng = RandomGenerator(seed: 0)
        let model = BenchTransformer(layers: layers, hidden: hidden, heads: heads, mlp: mlp, generator: &rng)
        let x = Tensor.normal([1, sequence, hidden], generator: &rng)

        let forward = bestTime(repeats: repeats) { _ = model.forward(x).sum().item() }
        let params = model.parameters.map { $0.requiringGradient() }
        let training = BenchTransformer(parameters: params, heads: heads)
        let backward = bestTime(repeats: repeats) {
            let tape = GradientTape()
            let loss = tape.record { training.forward(x).pow(2).mean() }
            _ = tape.backward(from: loss)
        }
        let result: [String: Any] = [
            "layers": layers, "hidden": hidden, "heads": heads, "mlp": mlp, "sequence": sequence,
            "threads": Parallel.threadCount, "forward_ms": forward * 1000, "forward_backward_ms": backward * 1000,
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "transformer %d×(%d, %d heads, mlp %d), seq %d, %d threads: forward %.1f ms, forward+backward %.1f ms",
                         layers, hidden, heads, mlp, sequence, Parallel.threadCount, forward * 1000, backward * 1000))
        }
    }
}

/// The benchmark model: LayerNorm → attention (fused QKV with bias, bidirectional) → residual →
/// LayerNorm → Linear → GELU (erf) → Linear → residual; a final LayerNorm.
struct BenchTransformer {
    let parameters: [Tensor]
    let heads: Int

    init(parameters: [Tensor], heads: Int) {
        self.parameters = parameters
        self.heads = heads
    }

    init(layers: Int, hidden: Int, heads: Int, mlp: Int, generator: inout RandomGenerator) {
        var p: [Tensor] = []
        func linear(_ out: Int, _ inF: Int) {
            p.append(Tensor.normal([out, inF], std: 1 / Float(inF).squareRoot(), generator: &generator))
            p.append(Tensor.zeros([out]))
        }
        for _ in 0..<layers {
            p += [Tensor.ones([hidden]), Tensor.zeros([hidden])]
            linear(3 * hidden, hidden)
            linear(hidden, hidden)
            p += [Tensor.ones([hidden]), Tensor.zeros([hidden])]
            linear(mlp, hidden)
            linear(hidden, mlp)
        }
        p += [Tensor.ones([hidden]), Tensor.zeros([hidden])]
        self.init(parameters: p, heads: heads)
    }

    func forward(_ x: Tensor) -> Tensor {
        let (b, t, d) = (x.shape[0], x.shape[1], x.shape[2])
        let hd = d / heads
        var h = x
        var i = 0
        func next() -> Tensor { defer { i += 1 }; return parameters[i] }
        let layers = (parameters.count - 2) / 12
        for _ in 0..<layers {
            let n1 = Tensor.layerNorm(h, weight: next(), bias: next(), eps: 1e-5)
            let qkv = Tensor.linear(n1, weight: next(), bias: next()).reshaped([b, t, 3, heads, hd]).permuted([2, 0, 3, 1, 4])
            let q = qkv.sliced(axis: 0, 0..<1).squeezed(0)
            let k = qkv.sliced(axis: 0, 1..<2).squeezed(0)
            let v = qkv.sliced(axis: 0, 2..<3).squeezed(0)
            let a = Tensor.scaledDotProductAttention(query: q, key: k, value: v).output
                .permuted([0, 2, 1, 3]).reshaped([b, t, d])
            h = h + Tensor.linear(a, weight: next(), bias: next())
            let n2 = Tensor.layerNorm(h, weight: next(), bias: next(), eps: 1e-5)
            let m = Tensor.linear(n2, weight: next(), bias: next()).gelu()
            h = h + Tensor.linear(m, weight: next(), bias: next())
        }
        return Tensor.layerNorm(h, weight: next(), bias: next(), eps: 1e-5)
    }
}
