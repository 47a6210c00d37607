import LatteKernels
import LatteTensor

// Pre-packed weights for inference: a Linear's float32 weight packed once into the GEMM kernel's panel
// layout (`GemmPackedWeight`), so each product skips re-packing it — the generator multiplies the same
// weights by 64–512 token rows at every sampling step, and packing was 14 % of its GEMM time at the
// paper's scale. The packed copy replaces the weight (which becomes a placeholder), so memory does not
// grow. Inference only, like `QuantizedWeight`: nothing can train a packed layer.

extension GemmPackedWeight {
    /// y = x·Wᵀ + b by the same operations as `Tensor.linear` (bias written first, the product
    /// accumulated onto it), so the result equals the unpacked layer's bit for bit.
    public func linear(_ x: Tensor, bias: Tensor?) -> Tensor {
        precondition(!x.requiresGradient, "a pre-packed Linear is for inference only: its input needs a gradient (run it under `withoutGradient`, or do not pack a model being trained)")
        precondition(x.dim(-1) == k, "packed linear: input has \(x.dim(-1)) features, the weight [\(n), \(k)] expects \(k)")
        let xc = x.toFloat32().contiguous()
        let rows = xc.count / k
        let (out, beta) = Tensor.linearOutput(x, features: n, bias: bias, layer: "packed linear")
        withExtendedLifetime(xc) { Gemm.sgemm(m: rows, a: xc.f32, lda: k, packedWeight: self, beta: beta, c: out.f32, ldc: n) }
        return out
    }
}

extension Linear {
    /// Packs this layer's weight for inference (see above); returns whether it did. Left as it is: a
    /// quantised or directly-read bf16 weight (their own kernels), a weight in a training arena, a
    /// non-float32 weight, and every weight while sgemm is routed to OpenBLAS (which packs its own way).
    @discardableResult
    public func packForInference() -> Bool {
        guard packedWeight == nil, quantizedWeight == nil, !readsBFloat16Directly, weight.arena == nil,
              weight.value.dtype == .float32, !Gemm.routesToOpenBLAS else { return false }
        let w = weight.value.contiguous()
        packedWeight = withExtendedLifetime(w) { GemmPackedWeight(weight: w.f32, n: outFeatures, k: inFeatures, ld: inFeatures) }
        weight.assign(.placeholderZeros(weight.shape))
        weight.isTrainable = false
        return true
    }
}

extension Module {
    /// Packs every float32 `Linear` weight below this module with at least `minimumElements` values
    /// (smaller ones gain nothing) for inference; returns how many were packed. Irreversible: the
    /// module can then run forward passes without gradient only, and its weights can no longer be
    /// read or saved.
    @discardableResult
    public func packLinearWeightsForInference(minimumElements: Int = 4096) -> Int {
        var packed = 0
        for case let (_, linear as Linear) in namedModules() where linear.weight.count >= minimumElements {
            if linear.packForInference() { packed += 1 }
        }
        return packed
    }
}

/// A module whose weights were packed for inference was asked for something only real weights allow.
public struct PackedWeightError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
