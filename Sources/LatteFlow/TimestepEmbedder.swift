import Foundation
import LatteNN
import LatteTensor

/// t ∈ [0, 1] → a width-d_g vector: sinusoidal features of 1000·t (cos then sin, frequencies
/// 10000^(−i/half)), then Linear → SiLU → Linear (as DiT's timestep embedder; docs/method.md §2).
public final class TimestepEmbedder: Module {
    public let linear_1: Linear
    public let linear_2: Linear
    let frequencies: Int

    public init(frequencies: Int, width: Int, generator: inout RandomGenerator) {
        self.frequencies = frequencies
        linear_1 = Linear(frequencies, width, weightInit: .normal(std: 0.02), biasInit: .constant(0), generator: &generator)
        linear_2 = Linear(width, width, weightInit: .normal(std: 0.02), biasInit: .constant(0), generator: &generator)
    }

    /// Sinusoidal features [B, frequencies] of 1000·t.
    public static func sinusoidal(_ t: [Float], frequencies: Int) -> Tensor {
        let half = frequencies / 2
        var out = [Float](repeating: 0, count: t.count * frequencies)
        for (b, tv) in t.enumerated() {
            for i in 0..<half {
                let f = Foundation.exp(-Foundation.log(10_000.0) * Double(i) / Double(half))
                let a = Double(tv) * 1000 * f
                out[b * frequencies + i] = Float(Foundation.cos(a))
                out[b * frequencies + half + i] = Float(Foundation.sin(a))
            }
        }
        return Tensor(out, shape: [t.count, frequencies])
    }

    /// [B] times → [B, width].
    public func callAsFunction(_ t: [Float]) -> Tensor {
        linear_2(linear_1(Self.sinusoidal(t, frequencies: frequencies)).silu())
    }
}
